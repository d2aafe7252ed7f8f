"""JSON-lines event output of a user-agent process.

Principle: stdout belongs to the events alone. pjsip's C code and stray prints
write to file descriptor 1 too, so ``take_stdout`` moves the real stdout to a
private descriptor and points descriptor 1 at stderr before pjsua2 is loaded.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO


class Emitter:
    """Writes one JSON object per line: ``event``, monotonic ``t``, wall ``at``, fields.

    ``t`` is CLOCK_MONOTONIC, shared by all processes on the machine, so the
    caller's and the line's timelines can be compared directly.
    """

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def __call__(self, event: str, **fields: Any) -> None:
        record = {
            "event": event,
            "t": round(time.monotonic(), 3),
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            **fields,
        }
        try:
            self._out.write(json.dumps(record, default=str) + "\n")
            self._out.flush()
        except (BrokenPipeError, ValueError):
            pass  # the reader went away; the UA still shuts down cleanly


def take_stdout() -> Emitter:
    """Keep fd 1 for events only; everything else printed goes to stderr."""
    sys.stdout.flush()
    private = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return Emitter(os.fdopen(private, "w", buffering=1, encoding="utf-8"))
