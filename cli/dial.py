"""``siaga dial``: place a real SIP call to the running system, like a citizen would, and print its case.

Principle: it tells what happened, in the words of the person at the phone:
the number is not a Siaga line, busy, not answered, no agency answered in
time, or the case. Progress goes to stderr, the case to stdout; exit 0 only
when a human (an agency unit or an operator) answered.
"""

from __future__ import annotations

import json
import random
import socket
import sys
import time
from typing import Any

import httpx
import typer

from app import portcheck
from app.cases.models import LINES
from app.clock import local_text
from app.settings import Settings
from cli.config import load_settings
from cli.errors import UserError

KEYS = set("0123456789*#")
ANSWER_SECONDS = 20.0  # the IVR answers at once; this long without an answer means nobody will
WHY_NOT = {  # SIP final answers before the IVR answered, as a caller would say it
    404: "not a Siaga line (Asterisk answered 404 Not Found)",
    484: "not a Siaga line (incomplete number)",
    486: "busy",
    600: "busy",
    480: "not answered (temporarily unavailable)",
    408: "not answered (request timeout)",
    503: "no service (503 Service Unavailable)",
}


def dial(
    line: str = typer.Argument(..., help=f"The number to call: {' or '.join(LINES)}."),
    press: str = typer.Option(
        "",
        "--press",
        help="Keys to press once answered, comma-separated: 0-9, * and #. E.g. 9,1,2 (English, ambulance, Kuta).",
    ),
    caller: str = typer.Option("", "--caller", help="Caller number to present (default: a random 0812… number)."),
    talk: float = typer.Option(
        3.0, "--talk", min=0, help="Seconds to stay on once a human answers (an agency, or a call-taker on 112)."
    ),
    timeout: float = typer.Option(90.0, "--timeout", min=1, help="Give up when nobody has answered after this long."),
    as_json: bool = typer.Option(False, "--json", help="Print the case as JSON."),
) -> None:
    """Call LINE over the trunk (RFC 2833 DTMF), press the keys, and print the case the call produced.

    Example: siaga dial 112 --press 9,1,2
    """
    settings = load_settings()
    lines = _lines(settings)
    if line not in lines:
        raise UserError(f"{line} is not a Siaga line (lines: {', '.join(lines)})")
    keys = _keys(press)
    caller = caller or f"0812{random.randint(0, 99_999_999):08d}"
    target = f"sip:{line}@{settings.sip.bind_host}:{settings.sip.port}"
    if portcheck.free(socket.SOCK_DGRAM, settings.sip.bind_host, settings.sip.port):  # nothing there to call
        raise UserError(
            f"nothing listens on {settings.sip.bind_host}:{settings.sip.port}/udp: is `make run` running?", code=1
        )
    _progress(f"calling {target} from {caller}" + (f", pressing {','.join(keys)}" if keys else ""))
    started = time.time()
    deadline = time.monotonic() + timeout
    case = _call(settings, target, caller, keys, talk, started, deadline)
    if case is None:
        raise UserError(f"the call was answered but no case was written{_hint(settings)}", code=1)
    sys.stderr.flush()
    if as_json:
        typer.echo(json.dumps(case, indent=2, ensure_ascii=False))
    else:
        _print(case)
    if not _answered(case):
        raise UserError(f"no agency or operator answered within {timeout:g} s (case {case['ticket']})", code=1)


def _call(settings: Settings, target: str, caller: str, keys: list[str], talk: float, started: float, deadline: float):
    from app.sipua.control import start_call

    opts: dict = {"from_user": caller, "timeout": max(deadline - time.monotonic(), 1.0), "duration": 0}
    if keys:
        opts.update(dtmf=keys, dtmf_after=1.0, dtmf_gap=0.8)
    with start_call(target, **opts) as ua:
        first = _first(ua, ("answered", "disconnected"), min(ANSWER_SECONDS, deadline - time.monotonic()))
        if first is None or first["event"] == "disconnected":
            code: Any = (first or {}).get("code")  # the SIP status as the UA reported it (JSON), if any
            why = WHY_NOT.get(code, f"refused ({code} {first.get('reason', '')})" if first else "not answered")
            raise UserError(f"{target}: {why}{_hint(settings)}", code=1)
        _progress("answered; " + ("pressing the keys ..." if keys else "waiting in the menu ..."))
        case = _wait_case(settings, caller, started, {"queued", "connected", "fallback", "ended"}, deadline)
        if case and case["status"] == "queued":
            _progress("waiting for a call-taker (112 queue) ...")
            case = _wait_case(settings, caller, started, {"connected", "fallback", "ended", "forwarding"}, deadline)
            if case and case["status"] == "forwarding":  # no call-taker answered in time: on to the unit
                _progress("no call-taker answered; put through to the unit ...")
                case = _wait_case(settings, caller, started, {"connected", "fallback", "ended"}, deadline)
        if case and case["status"] == "connected":
            who = f"call-taker {case['agent']}" if case.get("agent") else case.get("answered_by_unit") or "an agency"
            _progress(f"connected to {who}; talking for {talk:g} s")
            time.sleep(talk)  # the caller talks: nothing to wait for
        elif case and case["status"] == "fallback":
            _progress("handed to the command center's fallback route; waiting for a human ...")
            _wait_answered_in_fallback(ua, deadline, talk)
    _progress("hung up")
    # The fallback route's end line (who answered) is read by the service every 2 s.
    return _wait_case(settings, caller, started, {"ended"}, time.monotonic() + 6) or case


def _first(ua, events: tuple[str, ...], seconds: float) -> dict | None:
    deadline = time.monotonic() + max(seconds, 0)
    while time.monotonic() < deadline:
        for event in ua.events:
            if event.get("event") in events:
                return event
        if ua.proc.poll() is not None:
            break
        time.sleep(0.05)
    return next((e for e in ua.events if e.get("event") in events), None)


def _wait_answered_in_fallback(ua, deadline: float, talk: float) -> None:
    """The fallback route rings humans with ringback in between: stay on for ``talk`` seconds, then go."""
    time.sleep(min(max(deadline - time.monotonic(), 0), 8 + talk))


def _wait_case(settings: Settings, caller: str, since: float, statuses: set[str], deadline: float) -> dict | None:
    from app.cases.service import list_cases
    from app.cases.views import case_as_dict
    from app.db import make_engine, session_factory

    sessions = session_factory(make_engine(settings.database.url))
    found = None
    while True:
        with sessions() as session:
            for case in list_cases(session, limit=20):
                if case.caller_number == caller and case.received_at.timestamp() >= since - 5:
                    found = case_as_dict(session, case, events=True)
                    break
        if (found and found["status"] in statuses) or time.monotonic() >= deadline:
            return found
        time.sleep(0.2)


def _answered(case: dict) -> bool:
    return bool(case.get("answered_by_unit") or case.get("agency_answered_at") or case.get("agent"))


def _lines(settings: Settings) -> list[str]:
    from app.directory.loader import DirectoryError, load_directory

    try:
        return list(load_directory(settings.directory).lines)
    except DirectoryError:
        return list(LINES)


def _keys(press: str) -> list[str]:
    keys = [k.strip() for k in press.split(",") if k.strip()]
    bad = [k for k in keys if k not in KEYS]
    if bad:
        what = "is not a phone key" if len(bad) == 1 else "are not phone keys"
        raise UserError(
            f"--press {press!r}: {', '.join(repr(k) for k in bad)} {what} "
            "(use 0-9, * and #, comma-separated, e.g. --press 9,1,2)"
        )
    return keys


def _hint(settings: Settings) -> str:
    url = f"http://{settings.web.host}:{settings.web.port}/healthz"
    try:
        httpx.get(url, timeout=1.0)
    except httpx.HTTPError:
        return f"; nothing answers on {url}: is `make run` running?"
    return ""


def _progress(text: str) -> None:
    typer.echo(text, err=True)
    sys.stderr.flush()


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
        "answered_by_unit",
        "ended_at",
        "recording",
    ]
    if case.get("agent"):  # a call-taker took the call (112 with call-takers): who, when, what followed
        at = keys.index("agency_answered_at")
        keys[at:at] = ["agent", "taken_at", "dispatched_at", "workflow"]
    for key in keys:
        value = case.get(key)
        typer.echo(f"{key:>20}: {local_text(value) if key.endswith('_at') else ('' if value is None else value)}")
    for a in case.get("attempts", []):
        typer.echo(f"{'attempt':>20}: {a['unit']} ({a['agency']}) via {a['dial']}: {a['outcome']}")
