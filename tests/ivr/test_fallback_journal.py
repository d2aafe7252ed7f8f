"""Cases from the dialplan's fallback journal: calls the service never saw (down, or shedding a surge)."""

from __future__ import annotations

import asyncio
import time

from app.cases import service
from app.clock import utcnow
from ivr.fallback_journal import FallbackJournal
from tests.ivr.calls.conftest import migrated, sessions, store  # noqa: F401  (fixtures)

PREFIX = "[2026-11-28 05:00:00] NOTICE[123][C-00000001] Log: "  # what Asterisk writes before the message


def journal_lines(calls: int, reason: str = "OVERLOAD") -> str:
    now = int(time.time())
    lines = [f"{PREFIX}SIAGA-JOURNAL|{now}|start|1700000000.{i}|112|08120000{i}|{reason}" for i in range(calls)]
    lines.append(f"{PREFIX}Siaga dialplan fallback: another notice in the same file")
    lines += [
        f"{PREFIX}SIAGA-JOURNAL|{now + 9}|end|1700000000.{i}|ANSWER|PJSIP/operator-1-0000000{i}|6" for i in range(calls)
    ]
    return "\n".join(lines) + "\n"


class SlowSpool:
    """MixMonitor closes each file a little after the hang-up line: every take waits."""

    def __init__(self) -> None:
        self.in_flight = self.most_at_once = 0

    async def take(self, channel: str) -> bytes:
        self.in_flight += 1
        self.most_at_once = max(self.most_at_once, self.in_flight)
        await asyncio.sleep(0.2)
        self.in_flight -= 1
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
    assert int((tmp_path / "fallback.offset").read_text()) == path.stat().st_size
    assert await journal.import_new() == 0  # read once


async def test_a_recording_that_cannot_be_taken_does_not_stop_the_others(store, tmp_path):  # noqa: F811
    path = tmp_path / "fallback-journal.log"
    path.write_text(journal_lines(3, reason="FAILED"))

    async def take(channel: str) -> bytes:
        if channel.endswith(".1"):
            raise OSError("permission denied")
        return b"RIFF"

    journal = FallbackJournal(
        path, tmp_path / "fallback.offset", store, take_recording=take, recordings_dir=tmp_path / "recordings"
    )
    assert await journal.import_new() == 6
    filed = sorted(p.name for p in (tmp_path / "recordings").iterdir())
    assert len(filed) == 2
    assert int((tmp_path / "fallback.offset").read_text()) == path.stat().st_size


async def test_a_late_start_line_does_not_reopen_a_case_its_flow_already_closed(store, sessions, tmp_path):  # noqa: F811
    """The watchdog moved a caller its stalled flow still held; the flow closed the case when the caller had
    gone, before the journal's start line was read. Without an end line, "fallback" again would never end."""
    ticket = await store.open(line="112", caller_number="0812", channel_id="1700000000.7", received_at=utcnow())
    await store.write(store.update_op(ticket, status="ended", disposition="abandoned-in-ivr", ended_at=utcnow()))
    path = tmp_path / "fallback-journal.log"
    path.write_text(f"{PREFIX}SIAGA-JOURNAL|{int(time.time())}|start|1700000000.7|112|0812|WATCHDOG\n")
    journal = FallbackJournal(path, tmp_path / "fallback.offset", store)
    assert await journal.import_new() == 1
    case, events = read(store, sessions, ticket)
    assert (case.status, case.disposition) == ("ended", "abandoned-in-ivr")
    assert events["fallback.dialplan"] == {"reason": "WATCHDOG"}  # what happened is still told
    # When the end line comes after all, it tells how the fallback part ended.
    with open(path, "a") as fh:
        fh.write(f"{PREFIX}SIAGA-JOURNAL|{int(time.time())}|end|1700000000.7|ANSWER|PJSIP/operator-2-00000001|4\n")
    assert await journal.import_new() == 1
    case, _ = read(store, sessions, ticket)
    assert (case.status, case.disposition, case.answered_by_unit) == ("ended", "fallback", "operator-2")
