"""``siaga dial``: place a real SIP call to the running system and print its case."""

from __future__ import annotations

import json
import random
import time

import typer

from app.settings import Settings
from cli.config import load_settings


def dial(
    line: str = typer.Argument(..., help="The number to call: 112 or 14084."),
    press: str = typer.Option(
        "", "--press", help="Digits to press, comma-separated, e.g. 9,1,2 (English, ambulance, Kuta)."
    ),
    caller: str = typer.Option("", "--caller", help="Caller number to present (default: a random 0812… number)."),
    talk: float = typer.Option(3.0, "--talk", help="Seconds to stay connected once an agency line answers."),
    timeout: float = typer.Option(90.0, "--timeout", help="Give up after this many seconds."),
    as_json: bool = typer.Option(False, "--json", help="Print the case as JSON."),
) -> None:
    """Call LINE like a citizen would (over the trunk, RFC 2833 DTMF), then print the resulting case.

    Example: siaga dial 112 --press 9,1,2
    """
    from app.sipua.control import start_call

    settings = load_settings()
    caller = caller or f"0812{random.randint(0, 99_999_999):08d}"
    digits = [d.strip() for d in press.split(",") if d.strip()]
    target = f"sip:{line}@{settings.sip.bind_host}:{settings.sip.port}"
    typer.echo(f"calling {target} from {caller}" + (f", pressing {','.join(digits)}" if digits else ""), err=True)
    started = time.time()
    opts = {"from_user": caller, "timeout": timeout, "duration": 0}
    if digits:
        opts.update(dtmf=digits, dtmf_after=1.0, dtmf_gap=0.8)
    with start_call(target, **opts) as ua:
        try:
            ua.wait_for("answered", timeout=20)
        except TimeoutError:
            typer.secho("the call was not answered (is `make run` running?)", fg="red", err=True)
            raise typer.Exit(1) from None
        typer.echo("answered; walking the menu ...", err=True)
        case = _wait_case(settings, caller, started, {"connected", "fallback", "ended"}, timeout)
        if case and case["status"] == "connected":
            unit = (case.get("attempts") or [{}])[-1].get("unit")
            typer.echo(f"connected to {unit}; talking for {talk:g} s", err=True)
            time.sleep(talk)  # the caller "talks"; nothing is awaited here
    case = _wait_case(settings, caller, started, {"ended", "fallback"}, 15) or case
    if case is None:
        typer.secho("no case was written: is the call service running?", fg="red", err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(case, indent=2, ensure_ascii=False))
    else:
        _print(case)


def _wait_case(settings: Settings, caller: str, since: float, statuses: set[str], timeout: float) -> dict | None:
    from app.cases.service import list_cases
    from app.cases.views import case_as_dict
    from app.db import make_engine, session_factory

    sessions = session_factory(make_engine(settings.database.url))
    deadline = time.monotonic() + timeout
    found = None
    while time.monotonic() < deadline:
        with sessions() as session:
            for case in list_cases(session, limit=20):
                if case.caller_number == caller and case.received_at.timestamp() >= since - 5:
                    found = case_as_dict(session, case, events=True)
                    break
        if found and found["status"] in statuses:
            return found
        time.sleep(0.2)
    return found


def _print(case: dict) -> None:
    keys = [
        "ticket",
        "line",
        "caller_number",
        "language",
        "category",
        "district",
        "status",
        "disposition",
        "received_at",
        "ivr_completed_at",
        "forwarded_at",
        "agency_answered_at",
        "ended_at",
        "recording",
    ]
    for key in keys:
        typer.echo(f"{key:>20}: {case.get(key)}")
    for a in case.get("attempts", []):
        typer.echo(f"{'attempt':>20}: {a['unit']} ({a['agency']}) via {a['dial']}: {a['outcome']}")
