"""One line of the dialplan fallback journal, checked field by field (pure: text in, typed line out).

Principle: a journal line opens, closes or relabels a case, so it is taken only
in the exact shape our dialplan writes, and nowhere else: Asterisk's log prefix
with the journal's own level (logger.conf sends only that level to the file),
the mark right after it, then exactly six fields, each checked against what it
can be. The caller's number, the one value a caller chooses, arrives
URI-encoded (no byte of it can be a separator or a line break) and is kept in
the case's safe rendering (``app.cases.callers``). Anything else is refused
with the reason, never half-read.

    [2026-12-04 14:45:59.403] SIAGA_JOURNAL[30579][C-00000001] Ext. 112: SIAGA-JOURNAL|epoch|start|channel|line|caller|reason
    [2026-12-04 14:46:01.716] SIAGA_JOURNAL[30579][C-00000001] Ext. s: SIAGA-JOURNAL|epoch|end|channel|dialstatus|peer|seconds
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote

from app.asterisk import constants as k
from app.cases.callers import safe_caller_number

# Asterisk's prefix for a Log() line: date (logger.conf dateformat), level, thread, call id, "Ext. <exten>".
_LINE = re.compile(
    r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] "
    + re.escape(k.JOURNAL_LEVEL)
    + r"\[\d+\](?:\[C-[0-9a-f]{8}\])? Ext\. (?:"
    + "|".join(re.escape(line) for line in k.LINES)
    + r"|s): "
    + re.escape(k.JOURNAL_MARK)
    + r"\|(?P<fields>[^\r\n]*)"
)
# The line Asterisk writes at the top of every log file it opens (at start and after each rotation).
_BANNER = re.compile(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] Asterisk \S+ built by .*")

_EPOCH = re.compile(r"[0-9]{9,11}")
_CHANNEL = re.compile(r"[0-9]{1,12}\.[0-9]{1,10}")  # UNIQUEID (no systemname in asterisk.conf)
# URIENCODE of at most JOURNAL_CALLER_CHARS characters, each up to 4 UTF-8 bytes.
_ENCODED = re.compile(r"(?:[A-Za-z0-9._~!*'()-]|%[0-9A-Fa-f]{2}){0," + str(4 * k.JOURNAL_CALLER_CHARS) + "}")
_PEER = re.compile(r"(?:[A-Za-z]{2,16}/[A-Za-z0-9._@;/-]{1,200})?")  # DIALEDPEERNAME: PJSIP/operator-1-0000000a
_SECONDS = re.compile(r"[0-9]{0,9}")
DIAL_STATUSES = frozenset(
    {"", "ANSWER", "BUSY", "NOANSWER", "CANCEL", "CONGESTION", "CHANUNAVAIL", "DONTCALL", "TORTURE", "INVALIDARGS"}
)
FIELDS = 6


class Unparsable(ValueError):
    """Not a journal line our dialplan writes; the message says why."""


@dataclass(frozen=True)
class Start:
    at: datetime
    channel: str
    line: str
    caller: str  # the safe rendering of the caller's number
    reason: str


@dataclass(frozen=True)
class End:
    at: datetime
    channel: str
    dialstatus: str
    peer: str
    seconds: int


def parse(raw: str) -> Start | End | None:
    """The line's meaning; None for Asterisk's banner line (nothing to do); ``Unparsable`` otherwise."""
    match = _LINE.fullmatch(raw)
    if match is None:
        if _BANNER.fullmatch(raw):
            return None
        raise Unparsable("not a journal line (prefix, level or mark)")
    fields = match["fields"].split("|")
    if len(fields) != FIELDS:
        raise Unparsable(f"{len(fields)} fields, not {FIELDS}")
    epoch, kind, channel, *rest = fields
    _check(_EPOCH, epoch, "epoch")
    _check(_CHANNEL, channel, "channel id")
    at = datetime.fromtimestamp(int(epoch), tz=UTC)
    if kind == "start":
        line, caller, reason = rest
        if line not in k.LINES:
            raise Unparsable(f"line {line[:20]!r} is not one of {', '.join(k.LINES)}")
        _check(_ENCODED, caller, "caller (URI-encoded)")
        if reason not in k.FALLBACK_REASONS:
            raise Unparsable(f"reason {reason[:20]!r} is not a known fallback reason")
        return Start(at, channel, line, safe_caller_number(unquote(caller, errors="replace")), reason)
    if kind == "end":
        status, peer, seconds = rest
        if status not in DIAL_STATUSES:
            raise Unparsable(f"dial status {status[:20]!r} is not a known one")
        _check(_PEER, peer, "peer channel")
        _check(_SECONDS, seconds, "answered seconds")
        return End(at, channel, status, peer, int(seconds or 0))
    raise Unparsable(f"kind {kind[:20]!r} is neither start nor end")


def _check(pattern: re.Pattern, value: str, what: str) -> None:
    if pattern.fullmatch(value) is None:
        raise Unparsable(f"{what} {value[:40]!r} has not the expected shape")
