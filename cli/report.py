"""``siaga report``: response-time figures from the case log (definitions: docs/KPI.md). Needs only the database."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.table import Column

from app.cases.models import LINES
from app.clock import local_text
from app.kpi.models import KpiFigures, KpiReport
from app.kpi.service import BadRange, checked_range, kpi_report
from cli import tables
from cli.config import load_settings
from cli.db import open_session
from cli.errors import UserError
from cli.options import group

app = group()

EXAMPLE = "e.g. 2026-12-01T00:00+08:00 (WITA) or 2026-11-30T16:00Z"
GROUPS = (("by_line", "line"), ("by_agency", "agency"), ("by_category", "category"), ("by_district", "district"))
# Two-line headers keep every column as narrow as its numbers: the table fits 80 columns.
HEADERS = (
    ("calls", "Calls"),
    ("answered", "Answ-\nered"),
    ("abandoned", "Aban-\ndoned"),
    ("abandoned_in_ivr", "in\nIVR"),
    ("answered_within_15s_pct", "<=15s\n%"),
    ("answered_within_20s_pct", "<=20s\n%"),
    ("time_to_answer_p50_s", "Answer\np50 s"),
    ("time_to_answer_p90_s", "Answer\np90 s"),
    ("time_to_dispatch_p50_s", "Disp.\np50 s"),
    ("agency_answer_p50_s", "Agency\np50 s"),
)


def _instant(option: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option}: {text!r} is not an ISO 8601 time ({EXAMPLE})") from None
    if value.tzinfo is None:
        raise UserError(f"{option}: {text!r} has no time zone ({EXAMPLE})")
    return value


@app.command()
def kpi(
    since: str = typer.Option(
        ..., "--from", help=f"Calls received at or after this time (ISO 8601, with its zone: {EXAMPLE})."
    ),
    until: str = typer.Option(..., "--to", help="... and before this time (ISO 8601, with its zone)."),
    line: str | None = typer.Option(None, "--line", help=f"Only calls to this line ({' or '.join(LINES)})."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object (times in UTC)."),
) -> None:
    """Response-time KPIs of the calls received in [--from, --to): answered within 15 and 20 s, time to
    answer, to dispatch and to an agency's answer, overall and by line, agency, category and district."""
    if line is not None and line not in LINES:
        raise UserError(f"--line: there is no line {line!r} (lines: {', '.join(LINES)})")
    start, end = _instant("--from", since), _instant("--to", until)
    try:
        checked_range(start, end)
    except BadRange as exc:
        raise UserError(str(exc)) from None
    with open_session(load_settings().database.url) as session:
        report = kpi_report(session, start, end, line)
    if as_json:
        typer.echo(report.model_dump_json(by_alias=True, indent=2))
        return
    out = tables.console()
    out.print("Response-time KPIs" + (f", line {line}" if line else ", both lines"))
    out.print(f"Calls received from {local_text(start)} to {local_text(end)}")
    out.print(_table(report))
    out.print("Times in seconds from the call's arrival; % of all calls received.\nDefinitions: docs/KPI.md")


def _table(report: KpiReport):
    columns = [Column(header, justify="right", no_wrap=True) for _, header in HEADERS]
    table = tables.table(Column("", overflow="fold"), *columns)
    table.padding = (0, 0)  # the box's one space between columns: room for an agency's name at 80 columns
    table.add_row("all", *_cells(report), end_section=True)
    for field, title in GROUPS:
        groups: dict[str, KpiFigures] = getattr(report, field)
        table.add_row(f"by {title}", *([""] * len(HEADERS)))
        for key, figures in groups.items():
            table.add_row(f" {key}", *_cells(figures))
        table.rows[-1].end_section = True
    return table


def _cells(figures: KpiFigures) -> list[str]:
    values = [getattr(figures, field) for field, _ in HEADERS]
    return ["-" if v is None else str(v) for v in values]
