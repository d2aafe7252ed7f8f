"""Writing and reading the audit log (database only; the CLI decides what to record)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.audit.models import AuditEntry
from app.clock import utc_text, utcnow
from app.db import begin_write


def record(
    session: Session,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add one entry and commit it; returns the stored entry."""
    begin_write(session)
    entry = AuditEntry(at=at or utcnow(), actor=actor, action=action, target=target, detail=detail)
    session.add(entry)
    session.commit()
    session.refresh(entry)
    return entry


def list_entries(session: Session, limit: int = 50) -> list[AuditEntry]:
    """The newest ``limit`` entries, newest first."""
    query = select(AuditEntry).order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).limit(limit)
    return list(session.exec(query).all())


def entry_as_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": utc_text(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
    }
