"""``siaga directory``: check the directory file, load it into the database, try a route."""

from __future__ import annotations

import hashlib
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Column, Table

from app.directory.loader import DirectoryError, load_directory
from app.directory.routing import route as route_call
from app.directory.service import load_into_db, read_directory
from cli.audit import note
from cli.config import load_settings
from cli.db import open_session
from cli.options import group

app = group()

FILE_HELP = "Directory YAML file (default: the configured one, SIAGA_DIRECTORY)."


def _load(file: Path | None):
    path = file or load_settings().directory
    try:
        return path, load_directory(path)
    except DirectoryError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@app.command()
def check(file: Path | None = typer.Argument(None, help=FILE_HELP)) -> None:
    """Validate a directory file: schema, names that must exist, dial strings, routes with units."""
    path, directory = _load(file)
    typer.echo(
        f"{path}: ok ({len(directory.districts)} districts, {len(directory.agencies)} agencies, "
        f"{len(directory.units)} units, lines {', '.join(directory.lines)})"
    )


@app.command()
def load(file: Path | None = typer.Argument(None, help=FILE_HELP)) -> None:
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
    category: str = typer.Argument(
        ..., help="e.g. medical, fire, police, sar, operator (112); infrastructure, ... (14084)."
    ),
    district: str = typer.Argument(..., help="kuta-selatan, kuta, kuta-utara, mengwi, abiansemal, petang or unknown."),
    file: Path | None = typer.Option(None, "--file", "-f", help=FILE_HELP),
    from_db: bool = typer.Option(
        False, "--db", help="Route with the directory loaded in the database instead of a file."
    ),
) -> None:
    """Print who would be rung for such a call, in order."""
    if from_db:
        with open_session(load_settings().database.url) as session:
            try:
                directory = read_directory(session)
            except DirectoryError as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(1) from None
    else:
        directory = _load(file)[1]
    table = Table("#", "Kind", Column("Id", no_wrap=True), "Name", "Agency", "Km", "Ring s", "Dial")
    for n, c in enumerate(route_call(directory, line, category, district), start=1):
        km = "" if c.distance_km is None else f"{c.distance_km:.1f}"
        table.add_row(str(n), c.kind, c.id, c.name, c.agency or "", km, str(c.ring_timeout), " & ".join(c.dials))
    Console().print(table)
