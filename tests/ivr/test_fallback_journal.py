"""Cases from the dialplan's fallback journal: calls the service never saw (down, or shedding a surge)."""

from __future__ import annotations

import asyncio
import time

from app.asterisk.journal_files import load_position
from app.cases import service
from app.clock import utcnow
from ivr.fallback_journal import FallbackJournal
from tests.ivr.calls.conftest import migrated, sessions, store  # noqa: F401  (fixtures)

# What Asterisk writes before the message: the route's lines run at the line's extension, the hang-up handler's at "s".
PREFIX = "[2026-11-28 05:00:00.000] SIAGA_JOURNAL[123][C-00000001] Ext. 112: "
HANDLER = "[2026-11-28 05:00:09.000] SIAGA_JOURNAL[123][C-00000001] Ext. s: "
BANNER = "[2026-11-28 04:59:00.000] Asterisk 22.10.1 built by nobody @ buildd on a unknown running Linux"


def start_line(channel: str, caller: str = "0812", reason: str = "FAILED") -> str:
    return f"{PREFIX}SIAGA-JOURNAL|{int(time.time())}|start|{channel}|112|{caller}|{reason}\n"


def end_line(channel: str, peer: str = "PJSIP/operator-1-00000001", seconds: int = 6) -> str:
    return f"{HANDLER}SIAGA-JOURNAL|{int(time.time()) + 9}|end|{channel}|ANSWER|{peer}|{seconds}\n"


def journal_lines(calls: int, reason: str = "OVERLOAD") -> str:
    lines = [BANNER + "\n"] + [start_line(f"1700000000.{i}", f"08120000{i}", reason) for i in range(calls)]
    lines += [end_line(f"1700000000.{i}", f"PJSIP/operator-1-0000000{i}") for i in range(calls)]
    return "".join(lines)


class SlowSpool:
    """MixMonitor closes each file a little after the hang-up line: every take waits."""

    def __init__(self) -> None:
        self.in_flight = self.most_at_once = 0

    async def take(self, channel: str, keep) -> bytes:
        self.in_flight += 1
        self.most_at_once = max(self.most_at_once, self.in_flight)
        await asyncio.sleep(0.2)
        self.in_flight -= 1
        await keep(b"RIFF" + channel.encode())
        return b"RIFF" + channel.encode()


def read(store, sessions, ticket):  # noqa: F811
    assert store.settle(10), "the case store did not apply its journal"
    with sessions() as session:
        case = service.get_case(session, ticket)
        return case, {e.kind: e.detail for e in service.events_of(session, case.id)}


async def test_callers_shed_in_a_surge_get_their_cases_and_recordings_filed_side_by_side(store, sessions, tmp_path):  # noqa: F811
    path = tmp_path / "fallback-journal.log"
    path.write_text(journal_lines(6))
    spool = SlowSpool()
    journal = FallbackJournal(
        path, tmp_path / "fallback.offset", store, take_recording=spool.take, recordings_dir=tmp_path / "recordings"
    )

    assert await journal.import_new() == 12
    assert spool.most_at_once == 6  # one after the other, a surge's worth of hang-ups fell behind
    for i in range(6):
        ticket = await store.find_by_channel(f"1700000000.{i}")
        case, events = read(store, sessions, ticket)
        assert (case.status, case.disposition, case.answered_by_unit) == ("ended", "fallback", "operator-1")
        assert events["fallback.dialplan"] == {"reason": "OVERLOAD"}
        assert (tmp_path / "recordings" / f"{ticket}.wav").read_bytes() == f"RIFF1700000000.{i}".encode()
    assert load_position(tmp_path / "fallback.offset", path).offset == path.stat().st_size
    assert await journal.import_new() == 0  # read once


async def test_a_recording_that_cannot_be_taken_does_not_stop_the_others(store, tmp_path):  # noqa: F811
    path = tmp_path / "fallback-journal.log"
    path.write_text(journal_lines(3, reason="FAILED"))

    async def take(channel: str, keep) -> bytes:
        if channel.endswith(".1"):
            raise OSError("permission denied")
        await keep(b"RIFF")
        return b"RIFF"

    journal = FallbackJournal(
        path, tmp_path / "fallback.offset", store, take_recording=take, recordings_dir=tmp_path / "recordings"
    )
    assert await journal.import_new() == 6
    filed = sorted(p.name for p in (tmp_path / "recordings").iterdir())
    assert len(filed) == 2
    assert load_position(tmp_path / "fallback.offset", path).offset == path.stat().st_size


async def test_a_late_start_line_does_not_reopen_a_case_its_flow_already_closed(store, sessions, tmp_path):  # noqa: F811
    """The watchdog moved a caller its stalled flow still held; the flow closed the case when the caller had
    gone, before the journal's start line was read. Without an end line, "fallback" again would never end."""
    ticket = await store.open(line="112", caller_number="0812", channel_id="1700000000.7", received_at=utcnow())
    await store.write(store.update_op(ticket, status="ended", disposition="abandoned-in-ivr", ended_at=utcnow()))
    path = tmp_path / "fallback-journal.log"
    path.write_text(start_line("1700000000.7", reason="WATCHDOG"))
    journal = FallbackJournal(path, tmp_path / "fallback.offset", store)
    assert await journal.import_new() == 1
    case, events = read(store, sessions, ticket)
    assert (case.status, case.disposition) == ("ended", "abandoned-in-ivr")
    assert events["fallback.dialplan"] == {"reason": "WATCHDOG"}  # what happened is still told
    # When the end line comes after all, it tells how the fallback part ended.
    with open(path, "a") as fh:
        fh.write(end_line("1700000000.7", peer="PJSIP/operator-2-00000001", seconds=4))
    assert await journal.import_new() == 1
    case, _ = read(store, sessions, ticket)
    assert (case.status, case.disposition, case.answered_by_unit) == ("ended", "fallback", "operator-2")
