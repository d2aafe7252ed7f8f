"""The surge guard: when Asterisk and the call service fall behind, new callers go straight to the fallback route.

Principle: past its sustained rate an ARI-driven IVR does not fail a call, it
slows every call down (bench/: at 1.6x the sustained rate, "received ->
answered" went from 3 ms to ~1 s within 10 s), until callers hang up in a
silent IVR or the watchdog sends everyone to the fallback route at once. A
call the dialplan takes alone costs Asterisk a fraction of an IVR call and
the service nothing. So the service pings Asterisk over ARI a few times a
second and sheds in two levels, complaints first: while the median round trip
of the last seconds stays above the 14084 limit it sets the dialplan global
``SIAGA_SHED=1`` and new 14084 callers go to the fallback route before
``Stasis()``; above the (higher) 112 limit ``SIAGA_SHED=2`` sends new callers
of both lines there (reason ``OVERLOAD``: the fallback journal writes their
cases). So emergency callers keep the IVR longest, and callers already in the
IVR keep being served, faster. Each level has its own resume limit below its
shed limit (no flapping), and every connect sets ``SIAGA_SHED=0``: a level
left by a run that died must not outlive it. Every path still ends at a human.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections import deque
from collections.abc import Sequence
from typing import NamedTuple

from app.asterisk import constants as k
from app.settings import IvrSettings
from ivr.pause import stopped_within

log = logging.getLogger("siaga.surge")


class Level(NamedTuple):
    """One surge level: shed from ``shed_above_ms`` of median round trip, until it is below ``resume_below_ms``."""

    shed_above_ms: float
    resume_below_ms: float


def levels(ivr: IvrSettings) -> list[Level | None]:
    """Level 1 (14084) and level 2 (both lines) from the settings (None: level 1 off); none: the guard is off."""
    if not ivr.shed_above_ms:
        return []
    first = Level(ivr.shed_14084_above_ms, ivr.resume_14084_below_ms) if ivr.shed_14084_above_ms else None
    return [first, Level(ivr.shed_above_ms, ivr.resume_below_ms)]


def shed_lines(level: int) -> list[str]:
    """The lines whose new callers go to the fallback route at ``level`` (as the dialplan reads it)."""
    return [line for line in k.LINES if k.SHED_LEVELS[line] <= level]


class Pressure:
    """Which level to shed at, from round-trip samples (pure: the caller gives the clock).

    ``levels[n - 1]`` is level n (None: never shed at it); each keeps its own hysteresis, and the
    level shed at is the highest one over its limit.
    """

    def __init__(self, levels: Sequence[Level | None], *, window_seconds: float = 2.0, min_samples: int = 4) -> None:
        used = [lv for lv in levels if lv is not None]
        if any(not 0 <= lv.resume_below_ms < lv.shed_above_ms for lv in used):
            raise ValueError("each level's resume_below_ms must be below its shed_above_ms")
        if any(a.shed_above_ms >= b.shed_above_ms for a, b in zip(used, used[1:], strict=False)):
            raise ValueError("a higher level must shed at a higher round trip")
        self.levels = list(levels)
        self.window_seconds, self.min_samples = window_seconds, min_samples
        self.samples: deque[tuple[float, float]] = deque()
        self.over = [False] * len(self.levels)  # per level: shedding at it

    @property
    def level(self) -> int:
        return max((n for n, over in enumerate(self.over, start=1) if over), default=0)

    def add(self, at: float, round_trip_ms: float) -> int:
        """Note one round trip; returns the level to shed at now (0: nobody)."""
        self.samples.append((at, round_trip_ms))
        while self.samples and self.samples[0][0] < at - self.window_seconds:
            self.samples.popleft()
        if len(self.samples) >= self.min_samples:
            median = statistics.median(ms for _, ms in self.samples)
            for n, lv in enumerate(self.levels):
                if lv is not None and not self.over[n] and median >= lv.shed_above_ms:
                    self.over[n] = True
                elif lv is not None and self.over[n] and median < lv.resume_below_ms:
                    self.over[n] = False
        return self.level

    def median(self) -> float | None:
        return statistics.median(ms for _, ms in self.samples) if self.samples else None

    def reset(self) -> None:
        self.samples.clear()
        self.over = [False] * len(self.levels)


class SurgeGuard:
    """Measures ARI round trips and keeps the dialplan's shed level in step with them."""

    def __init__(
        self,
        client,
        *,
        levels: Sequence[Level | None],
        every: float = 0.25,
        timeout: float = 5.0,
        reassert_seconds: float = 2.0,
    ) -> None:
        self.client, self.every, self.timeout = client, every, timeout
        # While shedding the level is sent again now and then: a dialplan reload puts [globals] back to 0.
        self.reassert_seconds = reassert_seconds
        self.told_at = 0.0
        self.enabled = bool(levels)
        self.pressure = Pressure(levels) if self.enabled else None
        self.flag: int | None = None  # the level Asterisk was last told (None: not since the last connect)
        self.shed_since: float | None = None
        self._telling = asyncio.Lock()  # probes overlap: one decision is sent at a time

    @property
    def level(self) -> int:
        return self.flag or 0

    @property
    def shedding(self) -> bool:
        return self.level > 0

    def status(self) -> dict:
        median = self.pressure.median() if self.pressure else None
        return {
            "shedding": self.shedding,  # any line
            "shed_lines": shed_lines(self.level),
            "ari_round_trip_ms": None if median is None else round(median, 1),
        }

    async def connected(self) -> None:
        """After every (re)connect: Asterisk may have restarted, or kept a level a dead run set."""
        if self.pressure:
            self.pressure.reset()
        async with self._telling:
            self.flag, self.shed_since = None, None
            await self._tell(0)

    async def run(self, stop: asyncio.Event) -> None:
        """A ping every ``every`` seconds, without waiting for the last one to come back.

        One after the other, pings of a second or more (a bad surge) would leave too few samples
        in the window to decide anything: the guard would go blind just when it is needed.
        """
        in_flight: set[asyncio.Task] = set()
        while self.enabled and not stop.is_set():
            if len(in_flight) < self.timeout / self.every + 1:
                task = asyncio.create_task(self.probe())
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            await stopped_within(stop, self.every)
        for task in list(in_flight):
            task.cancel()

    async def probe(self) -> None:
        assert self.pressure is not None, "probing a guard that is off"
        started = time.monotonic()
        try:
            await asyncio.wait_for(self.client.ping(), self.timeout)
        except TimeoutError:
            pass  # as slow as it gets: counted at the timeout
        except Exception:  # not connected: the next connect resets the level
            return
        now = time.monotonic()
        self.pressure.add(now, (now - started) * 1000)
        async with self._telling:
            level = self.pressure.level  # the latest decision: another probe may have come back meanwhile
            if level != self.flag or (level and time.monotonic() - self.told_at >= self.reassert_seconds):
                await self._tell(level)

    async def _tell(self, level: int) -> None:
        try:
            await self.client.set_global(k.VAR_SHED, str(level))
        except Exception as exc:  # tried again on the next probe
            log.error("could not set the surge level to %d (new callers of %s shed): %s", level, _lines(level), exc)
            return
        was, self.flag, self.told_at = self.flag or 0, level, time.monotonic()
        if level == was:
            return
        median = (self.pressure.median() if self.pressure else None) or 0
        if level and not was:
            self.shed_since = time.monotonic()
        if level > was:
            limit = self.pressure.levels[level - 1] if self.pressure else None
            log.warning(
                "surge: ARI round trip median %.0f ms over %.0f s; new callers of %s go to the fallback route "
                "(reason OVERLOAD) until it is below %.0f ms",
                median,
                self.pressure.window_seconds if self.pressure else 0,
                _lines(level),
                limit.resume_below_ms if limit else 0,
            )
        elif level:
            log.warning(
                "surge easing: ARI round trip median %.0f ms; new callers of %s get the IVR again, of %s not yet",
                median,
                _lines(was, above=level),
                _lines(level),
            )
        else:
            log.warning(
                "surge over after %.1f s: ARI round trip median %.0f ms; new callers get the IVR again",
                time.monotonic() - (self.shed_since or time.monotonic()),
                median,
            )
            self.shed_since = None


def _lines(level: int, above: int = 0) -> str:
    """The lines shed at ``level`` and not at ``above``, for a log line."""
    return " and ".join(line for line in shed_lines(level) if line not in shed_lines(above)) or "no line"
