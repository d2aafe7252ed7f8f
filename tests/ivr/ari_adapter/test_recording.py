"""Call recordings: when Asterisk has finished one (its WAV header says the length only once closed), and
taking it out of Asterisk's folder: on disk when it is here, else over ARI."""

from __future__ import annotations

import asyncio
import io
import os
import threading
import wave

import pytest

from app.asterisk.constants import call_recording
from ivr.ari_adapter import recordings
from ivr.ari_adapter.recordings import AriSpool, Gone, LocalSpool, take_call_recording, wav_closed


def _wav(frames: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(frames)
    return out.getvalue()


def test_a_closed_wav_is_complete_and_one_still_being_written_is_not():
    closed = _wav(b"\x01\x00" * 800)
    assert wav_closed(closed)
    # Asterisk writes the header with length 0 at open and the real one at close.
    being_written = closed[:40] + (0).to_bytes(4, "little") + closed[44:]
    assert not wav_closed(being_written)
    assert not wav_closed(closed + b"\x00\x00")  # more audio came after the header was written
    assert not wav_closed(_wav(b""))  # nothing recorded (yet)
    assert not wav_closed(b"") and not wav_closed(b"not a wav file at all, but long enough to have a header")


def test_the_recording_name_has_no_dot():
    assert call_recording("1795814166.615") == "siaga-call-1795814166-615"


CHANNEL = "1795814166.615"
NAME = call_recording(CHANNEL)


class FakeAri(AriSpool):
    """ARI's stored recordings, for the cases where the local folder does not have the file."""

    def __init__(self, files: dict[str, bytes] | None = None) -> None:  # no client: fetch and delete are faked
        self.files = dict(files or {})
        self.fetched: list[str] = []
        self.deleted: list[str] = []

    async def fetch(self, name: str) -> bytes:
        self.fetched.append(name)
        if name not in self.files:
            raise Gone(name)
        return self.files[name]

    async def delete(self, name: str) -> None:
        self.deleted.append(name)
        self.files.pop(name, None)


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(recordings, "RECORDING_POLL", 0.01)


async def test_a_closed_recording_is_read_on_disk_and_removed_there_without_asking_ari(tmp_path):
    audio = _wav(b"\x01\x00" * 8000)
    (tmp_path / f"{NAME}.wav").write_bytes(audio)
    ari = FakeAri()
    assert await take_call_recording(LocalSpool(tmp_path, ari), CHANNEL, wait=0.5) == audio
    assert not (tmp_path / f"{NAME}.wav").exists()
    assert ari.fetched == [] and ari.deleted == []


async def test_a_recording_still_being_written_is_taken_once_mixmonitor_closes_it(tmp_path):
    audio = _wav(b"\x01\x00" * 8000)
    path = tmp_path / f"{NAME}.wav"
    path.write_bytes(audio[:40] + (0).to_bytes(4, "little") + audio[44:])  # header not final yet

    async def close_later():
        await asyncio.sleep(0.05)
        path.write_bytes(audio)

    closer = asyncio.create_task(close_later())
    assert await take_call_recording(LocalSpool(tmp_path, FakeAri()), CHANNEL, wait=1.0) == audio
    await closer


async def test_a_header_without_audio_is_removed_and_no_recording_is_filed(tmp_path):
    (tmp_path / f"{NAME}.wav").write_bytes(_wav(b""))
    assert await take_call_recording(LocalSpool(tmp_path, FakeAri()), CHANNEL, wait=0.05) is None
    assert not (tmp_path / f"{NAME}.wav").exists()


async def test_a_recording_that_never_closes_is_left_where_it_is(tmp_path):
    audio = _wav(b"\x01\x00" * 800)
    path = tmp_path / f"{NAME}.wav"
    path.write_bytes(audio[:40] + (0).to_bytes(4, "little") + audio[44:])
    assert await take_call_recording(LocalSpool(tmp_path, FakeAri()), CHANNEL, wait=0.05) is None
    assert path.exists()


async def test_a_recording_not_in_the_local_folder_is_asked_of_ari(tmp_path):
    audio = _wav(b"\x02\x00" * 800)
    ari = FakeAri({NAME: audio})
    assert await take_call_recording(LocalSpool(tmp_path / "not-here", ari), CHANNEL, wait=0.5) == audio
    assert ari.fetched == [NAME] and ari.deleted == [NAME] and ari.files == {}


async def test_no_recording_anywhere_is_none(tmp_path):
    ari = FakeAri()
    assert await take_call_recording(LocalSpool(tmp_path, ari), CHANNEL, wait=0.5) is None
    assert ari.fetched == [NAME]


async def test_a_local_file_that_cannot_be_read_is_fetched_over_ari_with_one_warning(tmp_path, caplog):
    (tmp_path / f"{NAME}.wav").mkdir()  # reading it fails (IsADirectoryError), as a file of another user would
    audio = _wav(b"\x03\x00" * 800)
    ari = FakeAri({NAME: audio})
    spool = LocalSpool(tmp_path, ari)
    assert await take_call_recording(spool, CHANNEL, wait=0.5) == audio
    assert ari.deleted == [NAME]
    assert sum("not usable here" in r.message for r in caplog.records) == 1


async def test_the_disk_is_read_and_the_file_removed_in_worker_threads_never_on_the_event_loop(tmp_path, monkeypatch):
    audio = _wav(b"\x01\x00" * 8000)
    path = tmp_path / f"{NAME}.wav"
    path.write_bytes(audio[:40] + (0).to_bytes(4, "little") + audio[44:])  # still being written, at first
    loop_thread, threads, reads = threading.get_ident(), [], []
    real_open, real_unlink = open, os.unlink

    class Spied(io.BufferedReader):
        def read(self, size=-1):
            data = super().read(size)
            reads.append(len(data))
            return data

    def spy_open(file, mode="r", *args, **kwargs):
        threads.append(threading.get_ident())
        return Spied(real_open(file, mode, *args, buffering=0, **kwargs)) if mode == "rb" else real_open(file, mode)

    def spy_unlink(file):
        threads.append(threading.get_ident())
        real_unlink(file)

    monkeypatch.setattr(recordings, "open", spy_open, raising=False)
    monkeypatch.setattr(recordings.os, "unlink", spy_unlink)

    async def close_later():
        await asyncio.sleep(0.05)
        path.write_bytes(audio)

    closer = asyncio.create_task(close_later())
    assert await take_call_recording(LocalSpool(tmp_path, FakeAri()), CHANNEL, wait=1.0) == audio
    await closer
    assert threads and loop_thread not in threads and not path.exists()
    # While the header said "still being written", each look read the header only, not the audio.
    assert reads[0] == recordings.WAV_HEADER and reads[-1] == len(audio) - recordings.WAV_HEADER
    assert len(audio) - recordings.WAV_HEADER not in reads[:-1]


async def test_a_recording_is_removed_from_asterisk_only_once_it_is_kept_on_our_side(tmp_path):
    audio = _wav(b"\x01\x00" * 800)
    path = tmp_path / f"{NAME}.wav"
    path.write_bytes(audio)
    kept: list[bytes] = []

    async def cannot_write(data: bytes) -> None:  # file_recording's answer when our disk is full
        kept.append(data)
        return None

    assert await take_call_recording(LocalSpool(tmp_path, FakeAri()), CHANNEL, wait=0.5, keep=cannot_write) == audio
    assert kept == [audio] and path.read_bytes() == audio  # still in Asterisk's folder, for a person

    async def written(data: bytes) -> str:
        return "112-261205-0001.wav"

    assert await take_call_recording(LocalSpool(tmp_path, FakeAri()), CHANNEL, wait=0.5, keep=written) == audio
    assert not path.exists()


async def test_a_failure_to_keep_propagates_and_leaves_the_recording_in_asterisk(tmp_path):
    audio = _wav(b"\x01\x00" * 800)
    path = tmp_path / f"{NAME}.wav"
    path.write_bytes(audio)

    async def broken(data: bytes) -> str:
        raise OSError("journal disk gone")

    with pytest.raises(OSError, match="journal disk gone"):
        await take_call_recording(LocalSpool(tmp_path, FakeAri()), CHANNEL, wait=0.5, keep=broken)
    assert path.exists()
