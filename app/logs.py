"""Log format for the services: time in Badung (WITA), level, component, message (the ticket leads call lines)."""

from __future__ import annotations

import logging
import sys
from datetime import datetime

from app.clock import REGENCY_TZ

# Libraries that say too much at INFO: an HTTP line per request, Alembic's plugin and context lines.
QUIET = ("httpx", "httpcore", "websockets", "uvicorn.access", "alembic")


class RegencyTimeFormatter(logging.Formatter):
    """``2026-12-04 21:50:52.331 WITA``: the time a call-taker in Badung would read on the wall clock."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        at = datetime.fromtimestamp(record.created, REGENCY_TZ)
        return f"{at:%Y-%m-%d %H:%M:%S}.{int(record.msecs):03d} WITA"


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RegencyTimeFormatter("%(asctime)s %(levelname)-7s %(name)-14s %(message)s"))
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), handlers=[handler], force=True)
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(logging.WARNING)
