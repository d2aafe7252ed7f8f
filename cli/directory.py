"""``siaga directory``: check the directory file, load it into the database, try a route."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import typer

from app.directory.loader import DirectoryError, load_directory
from app.directory.routing import route as route_call
from app.directory.schema import Directory
from app.directory.service import load_into_db, read_directory
from cli import tables
from cli.audit import note
from cli.config import load_settings
from cli.db import open_session
from cli.errors import UserError
from cli.options import directory_option, group

app = group()


def directory_source(file: Path | None) -> tuple[Path, str]:
    """The directory file and where its name came from, for messages."""
    if file is not None:
        return file, "--file"
    path = load_settings().directory
    if os.environ.get("SIAGA_DIRECTORY"):
        return path, "SIAGA_DIRECTORY"
    return path, "the default" if not os.environ.get("SIAGA_CONFIG") else "SIAGA_CONFIG"


def _load(file: Path | None) -> tuple[Path, Directory]:
    path, source = directory_source(file)
    try:
        return path, load_directory(path)
    except DirectoryError as exc:
        raise UserError(f"directory {path.resolve()} (from {source}): {exc}", code=1) from None


@app.command()
def check(file: Path | None = directory_option()) -> None:
    """Validate a directory file: schema, names that must exist, dial strings, routes with units."""
    path, directory = _load(file)
    typer.echo(
        f"{path}: ok ({len(directory.districts)} districts, {len(directory.agencies)} agencies, "
        f"{len(directory.units)} units, lines {', '.join(directory.lines)})"
    )


@app.command()
def load(file: Path | None = directory_option()) -> None:
    """Load a directory file into the database (idempotent; units no longer in the file are removed)."""
    path, directory = _load(file)
    url = load_settings().database.url
    with open_session(url) as session:
        summary = load_into_db(session, directory, path.name)
    note(
        url,
        "directory.load",
        str(path.resolve()),
        {
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            **{k: getattr(summary, k) for k in ("added", "updated", "removed")},
            "unchanged": len(summary.unchanged),
        },
    )
    typer.echo(
        f"{path}: loaded; units added {len(summary.added)}, updated {len(summary.updated)}, "
        f"unchanged {len(summary.unchanged)}, removed {len(summary.removed)}"
    )
    for unit in summary.removed:
        typer.echo(f"  removed {unit}")


@app.command()
def route(
    line: str = typer.Argument(..., help="112 or 14084."),
    category: str = typer.Argument(..., help="A category of that line, e.g. medical (112) or waste (14084)."),
    district: str = typer.Argument(..., help="A district, e.g. kuta-selatan, kuta, mengwi or unknown."),
    file: Path | None = directory_option(),
    from_db: bool = typer.Option(False, "--db", help="Use the directory loaded in the database instead of a file."),
) -> None:
    """Print who would be rung for such a call, in order (the fallback group always last)."""
    directory = _from_database() if from_db else _load(file)[1]
    _check_route(directory, line, category, district)
    out = tables.console()
    table = tables.table(tables.key("#"), tables.key("Id"), tables.key("Km"), tables.key("Ring"), "Dial")
    if tables.wide(out):
        table.add_column("Name", overflow="fold")
        table.add_column("Agency", overflow="fold")
    for n, c in enumerate(route_call(directory, line, category, district), start=1):
        km = "" if c.distance_km is None else f"{c.distance_km:.1f}"
        row = [str(n), c.id, km, f"{c.ring_timeout}s", "\n".join(c.dials)]
        table.add_row(*(row + [c.name, c.agency or ""] if tables.wide(out) else row))
    out.print(table)


def _from_database() -> Directory:
    with open_session(load_settings().database.url) as session:
        try:
            return read_directory(session)
        except DirectoryError as exc:
            raise UserError(f"the directory in the database: {exc}", code=1) from None


def _check_route(directory: Directory, line: str, category: str, district: str) -> None:
    if line not in directory.lines:
        raise UserError(f"there is no line {line!r} (lines: {', '.join(directory.lines)})")
    categories = directory.lines[line].categories
    if category not in categories:
        raise UserError(f"line {line} has no category {category!r} (categories: {', '.join(categories)})")
    if district not in directory.districts:
        raise UserError(f"there is no district {district!r} (districts: {', '.join(directory.districts)})")
