"""Test tones: write a sine WAV, and measure how much of a recording is one tone.

Measurement is Goertzel per 50 ms window (pure Python, no numpy needed), with
the tone's energy normalised by the window's total energy, so 1.0 is a pure
tone at that frequency and speech, noise or another tone score near 0.
``has_tone`` asks for enough consecutive tone windows, which stays true when
voice prompts are recorded before or after the tone.
"""

from __future__ import annotations

import math
import wave
from array import array
from pathlib import Path

WINDOW_SECONDS = 0.05
# A window counts as "the tone" above this ratio; G.711 and mixing keep a
# clean tone well above 0.9, a mix with speech of similar loudness near 0.5.
TONE_RATIO = 0.5


def write_tone_wav(path: str | Path, freq_hz: float, seconds: float, rate: int = 8000, amplitude: float = 0.5) -> Path:
    """A mono 16-bit PCM sine tone at ``amplitude`` of full scale."""
    peak = amplitude * 32767
    samples = array("h", (int(peak * math.sin(2 * math.pi * freq_hz * n / rate)) for n in range(int(seconds * rate))))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return Path(path)


def _read(path: str | Path) -> tuple[array, int]:
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV is supported")
        channels, rate = wav.getnchannels(), wav.getframerate()
        samples = array("h", wav.readframes(wav.getnframes()))
    return (samples[::channels] if channels > 1 else samples), rate


def _windows(samples: array, rate: int, freq_hz: float) -> list[tuple[float, float]]:
    """(tone energy, total energy) for each whole window."""
    size = int(rate * WINDOW_SECONDS)
    coeff = 2 * math.cos(2 * math.pi * freq_hz / rate)
    result = []
    for start in range(0, len(samples) - size + 1, size):
        s1 = s2 = total = 0.0
        for x in samples[start : start + size]:
            s1, s2 = x + coeff * s1 - s2, s1
            total += x * x
        power = s1 * s1 + s2 * s2 - coeff * s1 * s2  # |X(f)|^2
        result.append((2 * power / size, total))  # a pure tone gives tone == total
    return result


def _segment(wav_path: str | Path, freq_hz: float, start: float, end: float | None):
    samples, rate = _read(wav_path)
    last = len(samples) if end is None else int(end * rate)
    return _windows(samples[int(start * rate) : last], rate, freq_hz)


def tone_ratio(wav_path: str | Path, freq_hz: float, start: float = 0.0, end: float | None = None) -> float:
    """Energy at ``freq_hz`` relative to all energy between ``start`` and ``end`` seconds."""
    windows = _segment(wav_path, freq_hz, start, end)
    total = sum(t for _, t in windows)
    return min(1.0, sum(e for e, _ in windows) / total) if total else 0.0


def has_tone(wav_path: str | Path, freq_hz: float, min_seconds: float = 0.5, min_ratio: float = TONE_RATIO) -> bool:
    """True when ``freq_hz`` dominates at least ``min_seconds`` of consecutive windows."""
    needed = max(1, math.ceil(min_seconds / WINDOW_SECONDS - 1e-9))
    run = 0
    for tone, total in _segment(wav_path, freq_hz, 0.0, None):
        run = run + 1 if total > 0 and tone / total >= min_ratio else 0
        if run >= needed:
            return True
    return False
