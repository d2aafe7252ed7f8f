"""Command line of ``python -m app.sipua``: the ``call`` and ``line`` modes."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

EXIT_OK, EXIT_ERROR, EXIT_TIMEOUT = 0, 1, 3

EPILOG = """\
stdout carries one JSON object per line (event, t = monotonic seconds, at = wall
time, fields): ready, registered, calling, ringing, incoming, media, answered,
dtmf_sent, dtmf, recording, playing, recorded, timeout, disconnected, error, stopped.
Exit codes: 0 normal end (also after SIGTERM/SIGINT, which hang up and
unregister), 1 error, 3 the --timeout safety limit struck."""


def recording_path(record: str | None, number: int) -> str | None:
    """The given path for the first call, NAME-2.wav, NAME-3.wav... for the next ones."""
    if not record or number == 1:
        return record
    path = Path(record)
    return str(path.with_name(f"{path.stem}-{number}{path.suffix}"))


def _digits(text: str) -> list[str]:
    digits = [d.strip() for d in text.split(",") if d.strip()]
    bad = [d for d in digits if not re.fullmatch(r"[0-9*#A-Da-d]", d)]
    if bad:
        raise argparse.ArgumentTypeError(f"not DTMF digits: {', '.join(bad)} (each one of 0-9 * # A-D)")
    return digits


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("seconds must be >= 0")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bind", default="127.0.0.1", help="local IP address for SIP and RTP (default %(default)s)")
    p.add_argument("--port", type=int, default=0, help="local SIP UDP port, 0 = any free port (default)")
    p.add_argument("--play", metavar="WAV", help="WAV file looped into each call once answered")
    p.add_argument(
        "--log-level",
        type=int,
        default=1,
        metavar="N",
        help="pjsip log level written to stderr, 0-6 (default %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.sipua",
        description="A SIP user agent (pjsua2, G.711, RFC 4733 DTMF, no sound card) that reports as JSON lines.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    modes = parser.add_subparsers(dest="mode", required=True, metavar="{call,line}")

    call = modes.add_parser(
        "call",
        help="place one call (a citizen dialling 112), without registering",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    call.add_argument("--target", required=True, help="SIP URI to call, e.g. sip:112@127.0.0.1:5060")
    call.add_argument("--from-user", default="081234567890", help="caller number put in From (default %(default)s)")
    call.add_argument("--from-name", default="", help="display name put in From (quoted; none by default)")
    _common(call)
    call.add_argument(
        "--dtmf",
        type=_digits,
        default=[],
        metavar="D,D,..",
        help="digits to send as RFC 4733 telephone-events, comma-separated, e.g. 9,1,2",
    )
    call.add_argument(
        "--dtmf-after",
        type=_seconds,
        default=1.0,
        metavar="S",
        help="seconds after answer before the first digit (default %(default)s)",
    )
    call.add_argument(
        "--dtmf-gap", type=_seconds, default=1.0, metavar="S", help="seconds between digits (default %(default)s)"
    )
    call.add_argument("--record", metavar="WAV", help="record what the caller hears")
    call.add_argument(
        "--duration",
        type=_seconds,
        default=0.0,
        metavar="S",
        help="hang up S seconds after answer; 0 = wait for the far end (default)",
    )
    call.add_argument(
        "--timeout",
        type=_seconds,
        default=60.0,
        metavar="S",
        help="safety limit for the whole run, 0 = none; then hang up and exit 3 (default %(default)s)",
    )

    line = modes.add_parser(
        "line",
        help="a phone line (agency unit or operator) that answers calls",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    line.add_argument("--user", required=True, help="SIP user / endpoint name, e.g. psc-kuta")
    line.add_argument("--password", default="", help="digest password for registration")
    line.add_argument("--registrar", help="e.g. sip:127.0.0.1:5060; omit to only listen on --port")
    _common(line)
    how = line.add_mutually_exclusive_group()
    how.add_argument(
        "--answer-after",
        type=_seconds,
        default=0.5,
        metavar="S",
        help="ring S seconds (180) then answer (default %(default)s)",
    )
    how.add_argument("--no-answer", action="store_true", help="keep ringing (180) until the caller gives up")
    how.add_argument("--busy", action="store_true", help="answer 486 Busy Here")
    how.add_argument("--reject", action="store_true", help="answer 603 Decline")
    line.add_argument(
        "--record",
        metavar="WAV",
        help="record what the line hears: this path for the first call, NAME-2.wav, NAME-3.wav.. after",
    )
    line.add_argument(
        "--hangup-after",
        type=_seconds,
        default=0.0,
        metavar="S",
        help="hang up S seconds after answering; 0 = wait for the caller (default)",
    )
    line.add_argument(
        "--run-for",
        type=_seconds,
        default=0.0,
        metavar="S",
        help="exit after S seconds; 0 = run until SIGTERM (default)",
    )
    return parser
