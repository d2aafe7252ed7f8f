"""A recording is filed only under a real ticket: never as ``.wav`` or outside the recordings folder."""

from __future__ import annotations

import pytest

from app.cases import service
from ivr.calls.recordings import UNFILED, UnfiledRecording, file_recording


async def test_a_recording_is_filed_under_its_ticket_and_noted_on_the_case(store, sessions, tmp_path):
    from app.clock import utcnow

    ticket = await store.open(line="112", caller_number="0812", channel_id="1.1", received_at=utcnow())
    assert await file_recording(store, tmp_path / "rec", ticket, b"RIFF") == f"{ticket}.wav"
    assert (tmp_path / "rec" / f"{ticket}.wav").read_bytes() == b"RIFF"
    assert store.settle(10)
    with sessions() as session:
        assert service.get_case(session, ticket).recording == f"{ticket}.wav"


@pytest.mark.parametrize("ticket", ["", None, "../../etc/passwd", "112-261127-00042/../x"])
async def test_without_a_valid_ticket_the_recording_is_kept_aside_not_filed(store, tmp_path, ticket, caplog):
    with pytest.raises(UnfiledRecording):
        await file_recording(store, tmp_path / "rec", ticket, b"RIFF-voice")
    assert not (tmp_path / "rec" / ".wav").exists()
    [kept] = (tmp_path / "rec" / UNFILED).iterdir()
    assert kept.read_bytes() == b"RIFF-voice" and [p.name for p in (tmp_path / "rec").iterdir()] == [UNFILED]
    assert "not filed with any case" in caplog.text
