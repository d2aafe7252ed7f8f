"""``siaga cases``: read the case log. Needs no secrets, only the database."""

from __future__ import annotations

import json

import typer
from rich.table import Column

from app.cases import service, views
from app.cases.models import LINES
from app.clock import local_text
from cli import tables
from cli.config import load_settings
from cli.db import open_session
from cli.errors import UserError
from cli.options import group

app = group()

LAST = "last"


def _session():
    return open_session(load_settings().database.url)


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array (each case with its attempts)."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="At most this many cases, newest first."),
    line: str | None = typer.Option(None, "--line", help=f"Only cases of this line ({' or '.join(LINES)})."),
) -> None:
    """List cases, newest first (times in Badung, WITA)."""
    if line is not None and line not in LINES:
        raise UserError(f"--line: there is no line {line!r} (lines: {', '.join(LINES)})")
    with _session() as session:
        cases = views.cases_as_dicts(session, service.list_cases(session, limit=limit, line=line))
    if as_json:
        typer.echo(json.dumps(cases, indent=2, ensure_ascii=False))
        return
    out = tables.console()
    if not cases:
        out.print("no cases" + (f" on line {line}" if line else ""))
        return
    out.print(_wide_list(cases) if tables.wide(out) else _narrow_list(cases))


def _wide_list(cases: list[dict]):
    table = tables.table(
        tables.key("Ticket"),
        tables.key("Received"),
        tables.key("Caller"),
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
            local_text(case["received_at"]),
            case["caller_number"] or "",
            case["language"] or "",
            case["category"] or "",
            case["district"] or "",
            case["status"],
            case["disposition"] or "",
            case["answered_by_unit"] or "",
        )
    return table


def _narrow_list(cases: list[dict]):
    """80 columns: the ticket, the time and the caller whole; what happened in one wrapping column."""
    table = tables.table(tables.key("Ticket"), tables.key("Received (WITA)"), tables.key("Caller"), "What happened")
    for case in cases:
        table.add_row(
            case["ticket"],
            local_text(case["received_at"])[5:-5],  # "12-04 21:50:52": the year is in the ticket
            case["caller_number"] or "",
            _what(case),
        )
    return table


def _what(case: dict) -> str:
    route = "/".join(x for x in (case["category"], case["district"]) if x) or "-"
    outcome = case["disposition"] or case["status"]
    unit = f" by {case['answered_by_unit']}" if case["answered_by_unit"] else ""
    taker = f" (taken by {case['agent']})" if case.get("agent") else ""
    return f"{route}: {outcome}{unit}{taker}"


@app.command()
def show(
    ticket: str = typer.Argument(..., help=f"The case's ticket, e.g. 112-261204-00001, or {LAST!r} for the newest."),
    as_json: bool = typer.Option(False, "--json", help="Print the case, its attempts and events as JSON."),
) -> None:
    """Show one case: its fields, forwarding attempts and event timeline (times in Badung, WITA)."""
    with _session() as session:
        if ticket == LAST:
            newest = service.list_cases(session, limit=1)
            if not newest:
                raise UserError("there are no cases yet (place one: siaga dial 112 --press 1,2)", code=1)
            ticket = newest[0].ticket
        try:
            case = views.case_as_dict(session, ticket, events=True)
        except service.CaseNotFound:
            raise UserError(f"no case with ticket {ticket!r} (see `siaga cases list`)", code=1) from None
    if as_json:
        typer.echo(json.dumps(case, indent=2, ensure_ascii=False))
        return
    out = tables.console()
    fields = tables.table(tables.key("Field"), "Value")
    for name, value in case.items():
        if name not in {"attempts", "events"}:
            text = local_text(value) if name.endswith("_at") else ("" if value is None else str(value))
            fields.add_row(name, text)
    out.print(fields)
    out.print()
    out.print(_attempts(case["attempts"], tables.wide(out)))
    out.print()
    out.print(_timeline(case["events"]))


def _attempts(attempts: list[dict], wide: bool):
    columns: list[Column | str] = [tables.key("#"), tables.key("Unit")]
    if wide:
        columns += ["Agency", "Dial"]
    columns += [tables.key("Outcome"), *(tables.key(t) for t in ("Started", "Ringing", "Answered", "Ended"))]
    table = tables.table(*columns, title="Attempts (times WITA)")
    for a in attempts:
        row = [str(a["seq"]), a["unit"]]
        if wide:
            row += [a["agency"] or "", a["dial"]]
        row += [a["outcome"] or ""]
        row += [local_text(a[k], date=False)[:-5] for k in ("started_at", "ringing_at", "answered_at", "ended_at")]
        table.add_row(*row)
    return table


def _timeline(events: list[dict]):
    table = tables.table(tables.key("At (WITA)"), tables.key("Event"), "Detail", title="Timeline")
    for e in sorted(events, key=lambda e: e["at"]):  # ISO 8601 UTC strings sort as the instants do
        detail = json.dumps(e["detail"], ensure_ascii=False) if e["detail"] else ""
        table.add_row(_clock(e["at"]), e["kind"], detail)
    return table


def _clock(iso: str) -> str:
    """``21:50:52.123``: events of one call are often within the same second."""
    text = local_text(iso, date=False)[:-5]
    fraction = iso.replace("Z", "").rpartition(".")[2] if "." in iso else "000"
    return f"{text}.{fraction[:3].ljust(3, '0')}"
