"""The directory in the database, loaded from the YAML seed.

Loading is an idempotent upsert: units and agencies that are no longer in
the file are removed, the rest updated in place, in one transaction. Cases
refer to units by id as text, so removing a unit never touches history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from app.db import begin_write
from app.directory.loader import DirectoryError, check_directory
from app.directory.models import AgencyRecord, DirectoryPart, UnitRecord
from app.directory.schema import Agency, Directory, Unit

_PARTS = ("districts", "fallback_group", "lines")
_OPTIONAL_PARTS = ("agents",)  # absent in a database loaded before they existed


@dataclass
class LoadSummary:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def load_into_db(session: Session, directory: Directory, source: str = "directory") -> LoadSummary:
    """Make the database hold exactly ``directory``; returns what happened to the units."""
    check_directory(directory, source)
    begin_write(session)
    summary = LoadSummary()
    units = {unit.id: unit for unit in directory.units}
    stale = session.exec(select(UnitRecord).where(col(UnitRecord.id).not_in(list(units)))).all()
    for record in stale:
        summary.removed.append(record.id)
        session.delete(record)
    session.flush()  # units go before the agencies they point to
    for agency_record in session.exec(
        select(AgencyRecord).where(col(AgencyRecord.id).not_in(list(directory.agencies)))
    ).all():
        session.delete(agency_record)
    for key, agency in directory.agencies.items():
        session.merge(AgencyRecord(id=key, **agency.model_dump()))
    session.flush()
    for position, unit in enumerate(directory.units):
        existing = session.get(UnitRecord, unit.id)
        wanted = UnitRecord(position=position, **unit.model_dump())
        if existing is None:
            summary.added.append(unit.id)
        elif existing.model_dump(exclude={"position"}) != wanted.model_dump(exclude={"position"}):
            summary.updated.append(unit.id)
        else:
            summary.unchanged.append(unit.id)  # perhaps moved in the file: not worth reporting
        session.merge(wanted)
    for name in _PARTS + _OPTIONAL_PARTS:
        session.merge(DirectoryPart(name=name, body=_document(getattr(directory, name))))
    session.commit()
    return summary


def _document(value):
    if isinstance(value, dict):
        return {key: item.model_dump(mode="json") for key, item in value.items()}
    if isinstance(value, list):
        return [item.model_dump(mode="json") for item in value]
    return value.model_dump(mode="json")


def read_directory(session: Session) -> Directory:
    parts = {part.name: part.body for part in session.exec(select(DirectoryPart)).all()}
    missing = [name for name in _PARTS if name not in parts]
    if missing:
        raise DirectoryError(
            [f"database: no directory loaded (missing {', '.join(missing)}); run `siaga directory load`"]
        )
    agencies = {a.id: Agency(name=a.name, kind=a.kind) for a in session.exec(select(AgencyRecord)).all()}
    units = [
        Unit.model_validate(record.model_dump(exclude={"position"}))
        for record in session.exec(select(UnitRecord).order_by(col(UnitRecord.position))).all()
    ]
    return Directory(agencies=agencies, units=units, **parts)
