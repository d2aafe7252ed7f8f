"""When is a recording Asterisk wrote finished? (its WAV header says the length only once closed)."""
from __future__ import annotations

import io
import wave

from app.asterisk.constants import call_recording
from ivr.ari_adapter.recordings import wav_closed


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
