import math
import wave
from array import array

from app.sipua.tones import has_tone, tone_ratio, write_tone_wav


def _write(path, samples, rate=8000):
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(array("h", samples).tobytes())
    return path


def _chirp(seconds, rate=8000):
    """A sweep from 300 to 3000 Hz: broadband, like speech, never one steady tone."""
    n = int(seconds * rate)
    return [int(9000 * math.sin(2 * math.pi * (300 * t / rate + 1350 * (t / rate) ** 2 / seconds))) for t in range(n)]


def test_written_tone_is_all_energy_at_its_frequency(tmp_path):
    path = write_tone_wav(tmp_path / "t.wav", 1000, 1.0)
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getnframes()) == (8000, 1, 8000)
    assert tone_ratio(path, 1000) > 0.99
    assert tone_ratio(path, 1500) < 0.01


def test_ratio_can_be_measured_on_a_time_slice(tmp_path):
    tone = [int(8000 * math.sin(2 * math.pi * 1500 * n / 8000)) for n in range(8000)]
    path = _write(tmp_path / "mix.wav", _chirp(1.0) + tone)
    assert tone_ratio(path, 1500, start=1.0) > 0.99
    assert tone_ratio(path, 1500, start=0.0, end=1.0) < 0.2


def test_tone_between_speech_like_sound_is_found(tmp_path):
    tone = [int(8000 * math.sin(2 * math.pi * 1000 * n / 8000)) for n in range(int(0.8 * 8000))]
    path = _write(tmp_path / "prompt-tone-prompt.wav", _chirp(1.5) + tone + _chirp(1.5))
    assert has_tone(path, 1000, min_seconds=0.5)
    assert not has_tone(path, 1000, min_seconds=1.0)  # only 0.8 s of it
    assert not has_tone(path, 1500, min_seconds=0.1)


def test_silence_has_no_tone(tmp_path):
    path = _write(tmp_path / "silence.wav", [0] * 8000)
    assert tone_ratio(path, 1000) == 0.0
    assert not has_tone(path, 1000, min_seconds=0.1)
