"""Entry point: ``python -m app.sipua call|line ...`` (see ``--help``).

Shutdown is one path whatever ended the run (call over, --run-for, timeout,
SIGTERM/SIGINT, error): hang up, release recordings, unregister, destroy the
library, report ``stopped``, then leave with ``os._exit`` -- letting the
interpreter garbage-collect SWIG objects after ``libDestroy`` can crash.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from typing import TYPE_CHECKING

from app.sipua.cli import EXIT_ERROR, build_parser
from app.sipua.events import take_stdout

if TYPE_CHECKING:  # imported late at run time: both import pjsua2 (see take_stdout)
    from app.sipua.caller import Caller
    from app.sipua.line import Line


def describe(exc: Exception) -> str:
    """pjsua2's Error carries its text in info(), not in str()."""
    info = getattr(exc, "info", None)
    return (info() if callable(info) else str(exc)).strip() or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    emit = take_stdout()  # before pjsua2 is imported: its C logging writes to fd 1
    try:
        from app.sipua.phone import Phone

        phone = Phone(emit, args.bind, args.port, args.log_level)
    except Exception as exc:  # pjsua2 missing, port taken, bad address
        emit("error", what="start", message=describe(exc))
        emit("stopped", code=EXIT_ERROR, reason="could not start")
        return EXIT_ERROR

    def stop(signum: int, _frame) -> None:
        phone.finish(0, signal.Signals(signum).name)  # the poll loop notices within POLL_MS

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    mode: Caller | Line
    if args.mode == "call":
        from app.sipua.caller import Caller

        mode = Caller(phone, args)
    else:
        from app.sipua.line import Line

        mode = Line(phone, args)
    try:
        mode.start()
        phone.run()
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        emit("error", what=type(exc).__name__, message=describe(exc))
        phone.finish(EXIT_ERROR, "error")
    try:
        mode.shutdown()
    except Exception as exc:
        emit("error", what="shutdown", message=describe(exc))
    phone.destroy()
    emit("stopped", code=phone.exit_code, reason=phone.stop_reason)
    assert phone.exit_code is not None  # run() returns only once it is set; an error sets it too
    return phone.exit_code


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    os._exit(code)
