"""The surge guard: when Asterisk and the call service fall behind, new callers go straight to the fallback route.

Principle: past its sustained rate an ARI-driven IVR does not fail a call, it
slows every call down (bench/: at 1.6x the sustained rate, "received ->
answered" went from 3 ms to ~1 s within 10 s), until callers hang up in a
silent IVR or the watchdog sends everyone to the fallback route at once. A
call the dialplan takes alone costs Asterisk a fraction of an IVR call and
the service nothing. So the service pings Asterisk over ARI a few times a
second; while the median round trip of the last seconds stays above
``shed_above_ms`` it sets the dialplan global ``SIAGA_SHED=1``, and the
dialplan sends new callers to the fallback route before ``Stasis()`` (reason
``OVERLOAD``: the fallback journal writes their cases). Callers already in the
IVR keep being served, faster. It sets ``SIAGA_SHED=0`` again once the median
falls below ``resume_below_ms`` (and at every connect: a flag left by a run that
died must not outlive it). Every path still ends at a human.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections import deque

from app.asterisk import constants as k
from ivr.pause import stopped_within

log = logging.getLogger("siaga.surge")


class Pressure:
    """Whether to shed new callers, from round-trip samples (pure: the caller gives the clock)."""

    def __init__(
        self, shed_above_ms: float, resume_below_ms: float, *, window_seconds: float = 2.0, min_samples: int = 4
    ) -> None:
        if not 0 <= resume_below_ms < shed_above_ms:
            raise ValueError("resume_below_ms must be below shed_above_ms")
        self.shed_above_ms, self.resume_below_ms = shed_above_ms, resume_below_ms
        self.window_seconds, self.min_samples = window_seconds, min_samples
        self.samples: deque[tuple[float, float]] = deque()
        self.shedding = False

    def add(self, at: float, round_trip_ms: float) -> bool:
        """Note one round trip; returns whether new callers should be shed now."""
        self.samples.append((at, round_trip_ms))
        while self.samples and self.samples[0][0] < at - self.window_seconds:
            self.samples.popleft()
        if len(self.samples) >= self.min_samples:
            median = self.median()
            if not self.shedding and median >= self.shed_above_ms:
                self.shedding = True
            elif self.shedding and median < self.resume_below_ms:
                self.shedding = False
        return self.shedding

    def median(self) -> float | None:
        return statistics.median(ms for _, ms in self.samples) if self.samples else None


class SurgeGuard:
    """Measures ARI round trips and keeps the dialplan's shed flag in step with them."""

    def __init__(
        self,
        client,
        *,
        shed_above_ms: float,
        resume_below_ms: float,
        every: float = 0.25,
        timeout: float = 5.0,
        reassert_seconds: float = 2.0,
    ) -> None:
        self.client, self.every, self.timeout = client, every, timeout
        # While shedding the flag is sent again now and then: a dialplan reload puts [globals] back to 0.
        self.reassert_seconds = reassert_seconds
        self.told_at = 0.0
        self.enabled = shed_above_ms > 0
        self.pressure = Pressure(shed_above_ms, resume_below_ms) if self.enabled else None
        self.flag: bool | None = None  # what Asterisk was last told (None: not since the last connect)
        self.shed_since: float | None = None
        self._telling = asyncio.Lock()  # probes overlap: one decision is sent at a time

    @property
    def shedding(self) -> bool:
        return bool(self.flag)

    def status(self) -> dict:
        median = self.pressure.median() if self.pressure else None
        return {"shedding": self.shedding, "ari_round_trip_ms": None if median is None else round(median, 1)}

    async def connected(self) -> None:
        """After every (re)connect: Asterisk may have restarted, or kept a flag a dead run set."""
        if self.pressure:
            self.pressure.samples.clear()
            self.pressure.shedding = False
        async with self._telling:
            self.flag = None
            await self._tell(False)

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
        started = time.monotonic()
        try:
            await asyncio.wait_for(self.client.ping(), self.timeout)
        except TimeoutError:
            pass  # as slow as it gets: counted at the timeout
        except Exception:  # not connected: the next connect resets the flag
            return
        now = time.monotonic()
        self.pressure.add(now, (now - started) * 1000)
        async with self._telling:
            shed = self.pressure.shedding  # the latest decision: another probe may have come back meanwhile
            if shed != self.flag or (shed and time.monotonic() - self.told_at >= self.reassert_seconds):
                await self._tell(shed)

    async def _tell(self, shed: bool) -> None:
        try:
            await self.client.set_global(k.VAR_SHED, "1" if shed else "0")
        except Exception as exc:  # tried again on the next probe
            log.error("could not %s shedding new callers: %s", "start" if shed else "stop", exc)
            return
        was, self.flag, self.told_at = self.flag, shed, time.monotonic()
        median = self.pressure.median() if self.pressure else None
        if shed and not was:
            self.shed_since = time.monotonic()
            log.warning(
                "surge: ARI round trip median %.0f ms over %.0f s; new callers go to the fallback route "
                "(reason OVERLOAD) until it is below %.0f ms",
                median or 0,
                self.pressure.window_seconds,
                self.pressure.resume_below_ms,
            )
        elif was and not shed:
            log.warning(
                "surge over after %.1f s: ARI round trip median %.0f ms; new callers get the IVR again",
                time.monotonic() - (self.shed_since or time.monotonic()),
                median or 0,
            )
            self.shed_since = None
