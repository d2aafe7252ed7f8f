"""``siaga cases``: read the case log. Needs no secrets, only the database."""

from __future__ import annotations

import json
from datetime import datetime

import typer
from rich.console import Console
from rich.table import Column, Table

from app.cases import service, views
from app.clock import REGENCY_TZ
from cli.config import load_settings
from cli.db import open_session

app = typer.Typer(no_args_is_help=True)


def _session():
    return open_session(load_settings().database.url)


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array (each case with its attempts)."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="At most this many cases, newest first."),
    line: str | None = typer.Option(None, "--line", help="Only cases of this line (112 or 14084)."),
) -> None:
    """List cases, newest first."""
    with _session() as session:
        cases = views.cases_as_dicts(session, service.list_cases(session, limit=limit, line=line))
    if as_json:
        typer.echo(json.dumps(cases, indent=2, ensure_ascii=False))
        return
    table = Table(
        Column("Ticket", no_wrap=True),
        Column("Received (WITA)", no_wrap=True),
        "Caller",
        "Lang",
        "Category",
        "District",
        "Status",
        "Disposition",
        "Answered by",
    )
    for case in cases:
        table.add_row(
            case["ticket"],
            _local(case["received_at"]),
            case["caller_number"] or "",
            case["language"] or "",
            case["category"] or "",
            case["district"] or "",
            case["status"],
            case["disposition"] or "",
            case["answered_by_unit"] or "",
        )
    Console().print(table if cases else "no cases")


@app.command()
def show(
    ticket: str = typer.Argument(..., help="The case's ticket, e.g. 112-261127-00042."),
    as_json: bool = typer.Option(False, "--json", help="Print the case, its attempts and events as JSON."),
) -> None:
    """Show one case: its fields, forwarding attempts and event timeline."""
    with _session() as session:
        try:
            case = views.case_as_dict(session, ticket, events=True)
        except service.CaseNotFound:
            typer.echo(f"no case with ticket {ticket!r} (see `siaga cases list`)", err=True)
            raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(case, indent=2, ensure_ascii=False))
        return
    console = Console()
    fields = Table.grid(padding=(0, 2))
    fields.add_row("times", "WITA (UTC+8)")
    for name, value in case.items():
        if name not in {"attempts", "events"}:
            fields.add_row(name, _local(value) if name.endswith("_at") else ("" if value is None else str(value)))
    console.print(fields)
    attempts = Table(
        "#", "Unit", "Agency", "Dial", "Started", "Ringing", "Answered", "Ended", "Outcome", title="Attempts"
    )
    for a in case["attempts"]:
        attempts.add_row(
            str(a["seq"]),
            a["unit"],
            a["agency"] or "",
            a["dial"],
            *(_local(a[k]) for k in ("started_at", "ringing_at", "answered_at", "ended_at")),
            a["outcome"] or "",
        )
    console.print(attempts)
    timeline = Table("At (WITA)", "Event", "Detail", title="Timeline")
    for e in case["events"]:
        timeline.add_row(_local(e["at"]), e["kind"], json.dumps(e["detail"], ensure_ascii=False) if e["detail"] else "")
    console.print(timeline)


def _local(iso: str | None) -> str:
    """What a call-taker reads: Badung time, to the second."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(REGENCY_TZ).strftime("%Y-%m-%d %H:%M:%S")
