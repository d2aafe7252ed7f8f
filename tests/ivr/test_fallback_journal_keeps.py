"""No fallback journal line is passed over: refused lines are kept aside, lines that fail to apply are retried."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

from app.asterisk.journal_files import load_position
from app.cases import service
from ivr.fallback_journal import MAX_TRIES, FallbackJournal
from tests.ivr.calls.conftest import migrated, sessions, store  # noqa: F401  (fixtures)
from tests.ivr.test_fallback_journal import PREFIX, end_line, start_line

FORGED = "SIAGA-JOURNAL|1796391099|start|9999.1|112|6281666|FORGED"


class Refusing:
    """The real store, failing its first ``times`` lookups (e.g. a store that is closing)."""

    def __init__(self, store, times: int) -> None:
        self._store, self.times = store, times

    def __getattr__(self, name):
        return getattr(self._store, name)

    async def find_by_channel(self, channel: str):
        if self.times:
            self.times -= 1
            raise RuntimeError("the case store is closed")
        return await self._store.find_by_channel(channel)


def cases(store, sessions):  # noqa: F811
    assert store.settle(10)
    with sessions() as session:
        return service.list_cases(session)


async def test_the_reproduced_forgery_makes_no_case_and_the_callers_own_case_is_right(store, sessions, tmp_path):  # noqa: F811
    """A From user of the journal's own shape, in the old shared file's notice and URI-encoded in a real line."""
    path = tmp_path / "fallback.log"
    notice = PREFIX.replace("SIAGA_JOURNAL", "NOTICE") + f"Siaga dialplan fallback: line=112 caller={FORGED}\n"
    path.write_text(notice + start_line("1700000000.1", quote(FORGED, safe="")) + end_line("1700000000.1"))
    journal = FallbackJournal(path, tmp_path / "fallback.offset", store)

    assert await journal.import_new() == 2
    [case] = cases(store, sessions)  # one call, one case: none for "6281666"
    assert case.caller_number == "SIAGAJOURNAL1796391099start999911126281666FORGED"  # the caller's, made safe
    assert (case.channel_id, case.status, case.answered_by_unit) == ("1700000000.1", "ended", "operator-1")
    assert journal.status() == {"journal_rejected": 1}  # the notice: not a journal line, kept for a person


async def test_a_line_that_can_never_be_read_is_kept_with_why_and_the_others_go_on(store, sessions, tmp_path, caplog):  # noqa: F811
    path = tmp_path / "fallback.log"
    broken = start_line("1700000000.2").replace("|FAILED", "|HACKED")
    path.write_text(start_line("1700000000.1") + broken + start_line("1700000000.3"))
    journal = FallbackJournal(path, tmp_path / "fallback.offset", store)
    with caplog.at_level(logging.CRITICAL, logger="siaga.journal"):
        assert await journal.import_new() == 2
    assert {c.channel_id for c in cases(store, sessions)} == {"1700000000.1", "1700000000.3"}
    [kept] = (tmp_path / "fallback-rejected").glob("*.jsonl")
    [record] = [json.loads(line) for line in kept.read_text().splitlines()]
    assert record["line"] == broken.rstrip("\n") and "reason 'HACKED'" in record["why"]
    assert record["offset"] == len(start_line("1700000000.1").encode())
    assert "kept in" in caplog.text and journal.status() == {"journal_rejected": 1}
    assert load_position(tmp_path / "fallback.offset", path).offset == path.stat().st_size
    # A restarted service counts what is still kept.
    assert FallbackJournal(path, tmp_path / "other.offset", store).status() == {"journal_rejected": 1}


async def test_a_line_the_store_refuses_is_tried_again_and_not_passed_over(store, sessions, tmp_path):  # noqa: F811
    path = tmp_path / "fallback.log"
    first = start_line("1700000000.1")
    path.write_text(first + start_line("1700000000.2"))
    refusing = Refusing(store, times=2)
    journal = FallbackJournal(path, tmp_path / "fallback.offset", refusing)

    assert await journal.import_new() == 0  # the first line fails: the round stops before it
    assert load_position(tmp_path / "fallback.offset", path).offset == 0
    assert await journal.import_new() == 0  # refused again
    assert await journal.import_new() == 2  # now both, in order, each once
    assert {c.channel_id for c in cases(store, sessions)} == {"1700000000.1", "1700000000.2"}
    assert journal.status() == {"journal_rejected": 0}


async def test_a_line_refused_again_and_again_is_kept_aside_then_the_next_ones_go_on(store, sessions, tmp_path):  # noqa: F811
    path = tmp_path / "fallback.log"
    path.write_text(start_line("1700000000.1") + start_line("1700000000.2"))
    journal = FallbackJournal(path, tmp_path / "fallback.offset", Refusing(store, times=MAX_TRIES))
    for _ in range(MAX_TRIES - 1):
        assert await journal.import_new() == 0
    assert await journal.import_new() == 1  # the fifth refusal keeps the line aside; the next one applies
    assert {c.channel_id for c in cases(store, sessions)} == {"1700000000.2"}
    [kept] = (tmp_path / "fallback-rejected").glob("*.jsonl")
    record = json.loads(kept.read_text())
    assert record["offset"] == 0 and f"not applied after {MAX_TRIES} tries" in record["why"]
    assert journal.status() == {"journal_rejected": 1}


async def test_the_end_of_a_call_without_a_case_is_kept_aside_privately_not_passed_over(store, sessions, tmp_path):  # noqa: F811
    """Its start line was kept aside (or lost with a file): the end line is evidence of a call, kept too."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = tmp_path / "fallback.log"
        orphan = end_line("1700000000.9")
        path.write_text(start_line("1700000000.1") + orphan + end_line("1700000000.1"))
        journal = FallbackJournal(path, tmp_path / "fallback.offset", store)
        assert await journal.import_new() == 2
    finally:
        os.umask(old)
    assert [c.channel_id for c in cases(store, sessions)] == ["1700000000.1"]
    [kept] = (tmp_path / "fallback-rejected").glob("*.jsonl")
    [record] = [json.loads(line) for line in kept.read_text().splitlines()]
    assert record["line"] == orphan.rstrip("\n") and "has no case" in record["why"]
    assert journal.status() == {"journal_rejected": 1}
    # Caller numbers: owner only, whatever the umask.
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
