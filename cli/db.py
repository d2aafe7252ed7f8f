"""``siaga db``: the database schema."""

from __future__ import annotations

import typer

from app import db
from cli.config import load_settings
from cli.errors import UserError
from cli.options import group

app = group()


@app.command()
def upgrade(
    revision: str = typer.Argument("head", help="Alembic revision to upgrade to."),
) -> None:
    """Create or upgrade the database schema (Alembic migrations), SQLite or PostgreSQL per DATABASE_URL."""
    from cli.audit import note

    url = load_settings().database.url
    try:
        before = _revision(url)
        now = db.migrate(url, revision)
    except Exception as exc:  # the message is the useful part; a traceback is not
        typer.echo(f"cannot upgrade {db.describe(url)}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{db.describe(url)} is at revision {now}")
    if now != before:  # bootstrap upgrades on every start: only a real change is an admin action
        note(url, "db.upgrade", db.describe(url), {"from": before, "to": now})


def _revision(url: str) -> str | None:
    engine = db.make_engine(url)
    try:
        return db.current_revision(engine)
    finally:
        engine.dispose()


@app.command()
def current() -> None:
    """Print the database's schema revision (none: never upgraded)."""
    url = load_settings().database.url
    try:
        revision = db.current_revision(db.make_engine(url))
    except Exception as exc:
        typer.echo(f"cannot open {db.describe(url)}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{db.describe(url)} is at revision {revision or 'none (run `siaga db upgrade`)'}")


def open_session(url: str):
    """A session on an existing, migrated database, or a readable exit for the CLI."""
    engine = db.make_engine(url)
    try:
        ready = db.has_schema(engine)
    except Exception as exc:
        raise UserError(f"cannot open {db.describe(url)}: {exc}", code=1) from exc
    if not ready:
        raise UserError(f"{db.describe(url)} has no schema yet; run `siaga db upgrade` first", code=1)
    return db.session_factory(engine)()
