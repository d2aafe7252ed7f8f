"""Exponential reconnect delays with a little jitter, capped."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """``initial``, doubled after each failure up to ``cap``; each delay shortened by up to ``jitter``.

    Jitter only shortens, so the cap is a true upper bound and a delay never
    falls below the one before it while still below the cap (default factor and jitter).
    """

    def __init__(
        self,
        initial: float = 0.1,
        cap: float = 5.0,
        *,
        factor: float = 2.0,
        jitter: float = 0.2,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.initial = initial
        self.cap = max(cap, initial)
        self._factor = factor
        self._jitter = jitter
        self._rng = rng
        self._base = initial

    def next(self) -> float:
        base = self._base
        self._base = min(self._base * self._factor, self.cap)
        return base * (1.0 - self._jitter * self._rng())

    def reset(self) -> None:
        self._base = self.initial
