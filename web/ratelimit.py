"""Wrong-password limits: so many failures per user name and per client address within a window, then 429.

In the memory of one web process (a restart forgets it): this slows guessing
down; the password rule is what makes guessing hopeless. A blocked attempt is
refused before its password is checked, so it tells nothing, and is not
counted again. A successful login clears its user's count, not its address's.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

_SWEEP_ABOVE = 10_000  # keys kept before old ones are swept out


class LoginLimiter:
    def __init__(
        self, per_user: int, per_address: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = {"user": per_user, "address": per_address}
        self.window = window
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()  # sync routes run in a thread pool

    def retry_after(self, user: str, address: str) -> int | None:
        """Seconds until ``user`` from ``address`` may try again, or None when they may now."""
        now = self.clock()
        with self._lock:
            waits = [self._wait(key, now) for key in (("user", user), ("address", address)) if self._full(key, now)]
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, user: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) > _SWEEP_ABOVE:
                self._sweep(now)
            for key in (("user", user), ("address", address)):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(("user", user), None)

    def _full(self, key: tuple[str, str], now: float) -> bool:
        times = self._failures.get(key)
        if not times:
            return False
        while times and times[0] <= now - self.window:
            times.popleft()
        return len(times) >= self.limits[key[0]]

    def _wait(self, key: tuple[str, str], now: float) -> float:
        times = self._failures[key]
        # Allowed again when enough failures have left the window to be one below the limit.
        return times[len(times) - self.limits[key[0]]] + self.window - now

    def _sweep(self, now: float) -> None:
        for key in [k for k, times in self._failures.items() if not times or times[-1] <= now - self.window]:
            del self._failures[key]
