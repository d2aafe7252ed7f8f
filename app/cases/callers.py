"""What a case keeps of the caller's identity, and what a ticket (and so a recording's name) looks like.

Principle: the caller's number is the one value of a case that a stranger
chooses (the SIP From header, or the telco's caller ID). Whatever arrives, the
case keeps a safe rendering of it: only ASCII digits, letters, ``+``, ``*`` and
``#``, at most ``CALLER_CHARS`` of them, or ``"unknown"`` when nothing is left.
So no caller can put a separator, a line break or a page of text into a log
line, a journal, a SIP header the service sends on, or the database column.
The same rendering is used whether the call service or the dialplan's
fallback journal saw the call.
"""

from __future__ import annotations

import re

from app.cases.models import LINES

CALLER_CHARS = 64  # the cases.caller_number column; E.164 numbers have at most 15 digits
UNKNOWN = "unknown"
UNFILED = "unfiled"  # folder of the recordings folder: recordings handed over without a valid ticket

_NOT_KEPT = re.compile(r"[^0-9A-Za-z+*#]")
_TICKET = re.compile(rf"(?:{'|'.join(LINES)})-[0-9]{{6}}-[0-9]{{5,}}")


def safe_caller_number(raw: str | None) -> str:
    """``"+62 812-3456"`` -> ``"+628123456"``; ``"a|b\\nc"`` -> ``"abc"``; ``""`` -> ``"unknown"``."""
    kept = _NOT_KEPT.sub("", raw or "")[:CALLER_CHARS]
    return kept or UNKNOWN


def is_ticket(text: str | None) -> bool:
    """Whether ``text`` is a ticket as ``service.make_ticket`` writes it (``112-261127-00042``)."""
    return bool(text and _TICKET.fullmatch(text))
