"""Latencies from the observer's events (Asterisk's clock) and the service's log (same machine clock).

Per caller channel (``PJSIP/trunk-...``):
- digit -> next prompt: each ``ChannelDtmfReceived`` to the first ``PlaybackStarted``
  on that channel at or after it (ours); for the baseline, to the next
  ``ChannelDialplan`` step that is a ``Read`` (which starts its prompt) or the ``Dial``;
- last digit -> agency line ringing: the last digit to the ``Dial`` event with
  ``dialstatus`` RINGING for the agency leg (ours: the originated leg whose id
  carries the call's key; baseline: the Dial whose caller is this channel);
- arrival -> case journalled (ours): ``ChannelDialplan`` entering ``Stasis`` to the
  service's "<ticket> received on line ..." log line, written once the case's
  open op is fsync'ed in the service's local journal (what the call waits for);
- arrival -> case row committed (ours): the same start to the moment the bench's
  ``CaseWatcher`` first saw the row in the database (polling, see dbwatch.py).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from app.clock import REGENCY_TZ

RECEIVED = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) WITA .*? received on line \S+ from \S+ \(channel ([^)]+)\)"
)
CALLER = "PJSIP/trunk-"


def ari_time(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def log_time(stamp: str) -> float:
    """A service log time (Badung, WITA: app/logs.py) as a Unix time."""
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=REGENCY_TZ).timestamp()


def journalled_times(service_log: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in service_log.read_text(errors="replace").splitlines():
        if match := RECEIVED.match(line):
            out[match.group(2)] = log_time(match.group(1))
    return out


def latencies(
    events: list[dict], service_log: Path | None = None, rows_seen: dict[str, float] | None = None
) -> dict[str, list[float]]:
    """Milliseconds per measure (see the module's docstring)."""
    calls: dict[str, dict] = defaultdict(lambda: {"digits": [], "next": [], "key": None, "stasis": None})
    ringing_by_key: dict[str, float] = {}
    ringing_by_caller: dict[str, float] = {}
    for e in events:
        t = ari_time(e["timestamp"])
        kind, channel = e["type"], (e.get("channel") or {})
        if kind == "ChannelDtmfReceived" and (channel.get("name") or "").startswith(CALLER):
            calls[channel["id"]]["digits"].append(t)
        elif kind == "PlaybackStarted":
            target = (e["playback"].get("target_uri") or "").removeprefix("channel:")
            calls[target]["next"].append(t)
            pid = e["playback"].get("id") or ""
            if pid.startswith("sg"):
                calls[target]["key"] = pid[2:].split("-", 1)[0]
        elif kind == "ChannelDialplan" and (channel.get("name") or "").startswith(CALLER):
            if e.get("dialplan_app") == "Stasis":
                calls[channel["id"]]["stasis"] = t
            elif e.get("dialplan_app") in ("Read", "Dial"):
                calls[channel["id"]]["next"].append(t)
        elif kind == "Dial" and e.get("dialstatus") == "RINGING":
            peer = (e.get("peer") or {}).get("id") or ""
            if peer.startswith("sg"):
                ringing_by_key.setdefault(peer[2:].split("-", 1)[0], t)
            if e.get("caller"):
                ringing_by_caller.setdefault(e["caller"]["id"], t)
    journalled = journalled_times(service_log) if service_log else {}
    rows_seen = rows_seen or {}
    out: dict[str, list[float]] = {
        "digit_to_prompt": [],
        "last_digit_to_ringing": [],
        "arrival_to_case_journalled": [],
        "arrival_to_case_row_committed": [],
    }
    for channel, call in calls.items():
        nexts = sorted(call["next"])
        for digit in call["digits"]:
            later = [n for n in nexts if n >= digit]
            if later:
                out["digit_to_prompt"].append(1000 * (later[0] - digit))
        ringing = ringing_by_key.get(call["key"]) if call["key"] else ringing_by_caller.get(channel)
        if call["digits"] and ringing is not None:
            out["last_digit_to_ringing"].append(1000 * (ringing - max(call["digits"])))
        if call["stasis"] is not None and channel in journalled:
            out["arrival_to_case_journalled"].append(1000 * (journalled[channel] - call["stasis"]))
        if call["stasis"] is not None and channel in rows_seen:
            out["arrival_to_case_row_committed"].append(1000 * (rows_seen[channel] - call["stasis"]))
    return out
