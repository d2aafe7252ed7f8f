"""Handing a caller to the dialplan's fallback route: retried until the caller is there or gone.

Principle: a caller the call service gives up on must reach the humans of the
fallback route, however long ARI refuses. So a failed hand-over is never the
end: the flow stays in HANDING_OVER and tries again on a timer whose delay
grows (``retry_delay``, pure) to a cap, until the route has the caller or the
caller has hung up. ``Waiting`` counts the callers in that state and the age
of the oldest, for ``/healthz``: past a bound the service calls itself
unhealthy, and the watchdog (its own ARI connection) takes those callers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

FIRST_RETRY_SECONDS = 0.2
MAX_RETRY_SECONDS = 2.0


def retry_delay(tries: int) -> float:
    """Seconds before the next try, after ``tries`` failed ones: 0.2, 0.4, 0.8, 1.6, then every 2 s."""
    return min(FIRST_RETRY_SECONDS * 2 ** max(tries - 1, 0), MAX_RETRY_SECONDS)


class Waiting:
    """Callers waiting for their hand-over to the fallback route, by caller channel."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._since: dict[str, float] = {}

    def started(self, channel: str) -> None:
        self._since.setdefault(channel, self.clock())

    def done(self, channel: str) -> None:
        self._since.pop(channel, None)

    def oldest_seconds(self) -> float:
        return self.clock() - min(self._since.values()) if self._since else 0.0

    def status(self) -> dict:
        return {"handing_over": len(self._since), "handing_over_oldest_seconds": round(self.oldest_seconds(), 1)}
