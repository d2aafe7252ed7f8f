"""Soak: our service at a steady rate for a long while, its memory sampled, leaks looked for after.

Bounded: SIPp places exactly rate x minutes x 60 calls and is stopped at its
deadline. Afterwards Asterisk must hold no channel and no bridge, and the
service no call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bench.probe import active_channels
from bench.report import say
from bench.steps import Runner, Step


@dataclass
class Soak:
    rate: float
    minutes: float
    step: Step | None = None
    rss_kb: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, VmRSS)
    rss_before_kb: int | None = None
    rss_after_kb: int | None = None
    channels_after: int = -1
    bridges_after: list = field(default_factory=list)
    ari_channels_after: list = field(default_factory=list)
    service_calls_after: int | None = None

    @property
    def leaks(self) -> list[str]:
        out = []
        if self.channels_after != 0:
            out.append(f"{self.channels_after} channels left in Asterisk")
        if self.bridges_after:
            out.append(f"{len(self.bridges_after)} bridges left")
        if self.ari_channels_after:
            out.append(f"{len(self.ari_channels_after)} ARI channels left")
        if self.service_calls_after:
            out.append(f"the service still tracks {self.service_calls_after} calls")
        return out


def soak(runner: Runner, rate: float, minutes: float, sample_every: float = 10.0) -> Soak:
    system = runner.system
    result = Soak(rate, minutes)
    result.rss_before_kb = system.service_rss_kb()
    started = last = time.monotonic()

    def sample() -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= sample_every:
            last = now
            rss = system.service_rss_kb()
            if rss is not None:
                result.rss_kb.append((round(now - started, 1), rss))
                say(f"  service RSS {rss / 1024:.1f} MiB")
            system.prune_recordings()

    calls = max(1, round(rate * minutes * 60))
    result.step = runner.step("siaga", rate, calls, mode=5, on_progress=sample, progress_every=10)
    result.rss_after_kb = system.service_rss_kb()
    result.channels_after = active_channels(system.asterisk.cli("core show channels count"))
    result.bridges_after = system.ari("bridges")
    result.ari_channels_after = system.ari("channels")
    result.service_calls_after = system.health().get("calls")
    return result
