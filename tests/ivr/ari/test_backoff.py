"""Reconnect delays: grow, cap, jitter only shortens, reset starts over."""

from __future__ import annotations

from ivr.ari.backoff import Backoff


def test_delays_double_up_to_the_cap_without_jitter():
    backoff = Backoff(0.1, 1.0, rng=lambda: 0.0)
    assert [round(backoff.next(), 3) for _ in range(7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


def test_jitter_shortens_by_at_most_a_fifth_and_never_passes_the_cap():
    backoff = Backoff(0.1, 1.0, rng=lambda: 1.0)
    delays = [backoff.next() for _ in range(7)]
    assert [round(d, 3) for d in delays] == [0.08, 0.16, 0.32, 0.64, 0.8, 0.8, 0.8]


def test_delays_never_shrink_before_the_cap_whatever_the_jitter():
    draws = iter([1.0, 0.0, 1.0, 0.0, 1.0])
    backoff = Backoff(0.1, 5.0, rng=lambda: next(draws))
    delays = [backoff.next() for _ in range(5)]
    assert delays == sorted(delays)


def test_reset_starts_again_from_the_initial_delay():
    backoff = Backoff(0.1, 5.0, rng=lambda: 0.0)
    for _ in range(5):
        backoff.next()
    backoff.reset()
    assert backoff.next() == 0.1
