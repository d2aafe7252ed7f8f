"""The login limiter on its own clock: per user, per address, the window, and a success clearing the user."""

from __future__ import annotations

from web.ratelimit import LoginLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_user_is_blocked_after_the_limit_until_the_oldest_failure_leaves_the_window():
    clock = Clock()
    limiter = LoginLimiter(per_user=3, per_address=100, window=60, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("wayan", "10.0.0.1") is None
        limiter.failed("wayan", "10.0.0.1")
        clock.now += 10
    assert limiter.retry_after("wayan", "10.0.0.2") == 30  # the first failure (at 1000) leaves at 1060
    clock.now += 30
    assert limiter.retry_after("wayan", "10.0.0.1") is None


def test_an_address_is_blocked_for_every_name_and_a_success_clears_only_its_user():
    limiter = LoginLimiter(per_user=2, per_address=3, window=60, clock=Clock())
    for name in ("a", "b", "c"):
        limiter.failed(name, "10.0.0.9")
    assert limiter.retry_after("d", "10.0.0.9") == 60 and limiter.retry_after("d", "10.0.0.1") is None
    limiter.failed("e", "10.0.0.1")
    limiter.failed("e", "10.0.0.2")
    assert limiter.retry_after("e", "10.0.0.3") is not None
    limiter.succeeded("e")
    assert limiter.retry_after("e", "10.0.0.3") is None
