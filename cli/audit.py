"""``siaga audit``: read the audit log; ``note`` writes an entry for a CLI command that changed state.

An entry is written after the action succeeded. If it cannot be written (no
schema yet, database down), the command says so on stderr but keeps its
result: the change has happened, and undoing it would hide it further.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Column, Table

from app import db
from app.audit.actor import os_actor
from app.audit.service import entry_as_dict, list_entries, record
from app.clock import REGENCY_TZ
from cli.config import load_settings
from cli.db import open_session
from cli.options import group

app = group()

TABLE = "audit_entries"


def note(url: str, action: str, target: str, detail: dict[str, Any] | None = None) -> None:
    """Record ``action`` on ``target`` by the OS user running this command."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            ready = connection.dialect.has_table(connection, TABLE)
        if not ready:
            typer.secho(
                f"not audited: {db.describe(url)} has no audit log yet (run `siaga db upgrade`)", fg="yellow", err=True
            )
            return
        with db.session_factory(engine)() as session:
            record(session, os_actor(), action, target, detail)
    except Exception as exc:  # the action stands; say that its record is missing
        typer.secho(f"not audited: cannot write to {db.describe(url)}: {exc}", fg="yellow", err=True)
    finally:
        engine.dispose()


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array, newest first."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="At most this many entries, newest first."),
) -> None:
    """List supervisor and admin actions, newest first: when, who, what, on what."""
    with open_session(load_settings().database.url) as session:
        entries = [entry_as_dict(e) for e in list_entries(session, limit=limit)]
    if as_json:
        typer.echo(json.dumps(entries, indent=2, ensure_ascii=False))
        return
    table = Table(Column("At (WITA)", no_wrap=True), "Actor", Column("Action", no_wrap=True), "Target", "Detail")
    for e in entries:
        at = datetime.fromisoformat(e["at"]).astimezone(REGENCY_TZ).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(at, e["actor"], e["action"], e["target"], _summary(e["detail"]))
    Console().print(table if entries else "no audit entries")


def _summary(detail: dict | None) -> str:
    """One short line for the table (lists as counts); ``--json`` has everything."""
    parts = []
    for key, value in (detail or {}).items():
        if isinstance(value, (list, dict)):
            value = len(value)
        elif isinstance(value, str) and len(value) > 16:
            value = value[:12] + "…"
        parts.append(f"{key} {value}")
    return ", ".join(parts)
