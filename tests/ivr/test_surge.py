"""The surge guard: when to shed new callers to the fallback route, and telling the dialplan so."""

from __future__ import annotations

import asyncio

import pytest

from app.asterisk import constants as k
from ivr.ari.errors import AriUnavailable
from ivr.surge import Pressure, SurgeGuard


def test_shedding_starts_when_the_median_round_trip_passes_the_limit_and_stops_well_below_it():
    p = Pressure(shed_above_ms=250, resume_below_ms=50, window_seconds=2.0, min_samples=4)
    assert [p.add(t / 4, ms) for t, ms in enumerate([3, 4, 900, 5])] == [False] * 4  # one slow ping is not a surge
    # Later (the window holds the last 2 s only): four samples are needed before anything is decided.
    assert [p.add(10 + t / 4, ms) for t, ms in enumerate([300, 320, 400, 380, 350])] == [False] * 3 + [True] * 2
    # Back under the limit but not under the resume level: still shedding (no flapping around one level).
    assert [p.add(11.25 + t / 4, ms) for t, ms in enumerate([120, 110, 100, 90, 80, 70, 60])] == [True] * 7
    # Quiet again: once the window holds enough fast samples, new callers get the IVR.
    assert [p.add(20 + t / 4, ms) for t, ms in enumerate([20, 10, 8, 6])] == [True] * 3 + [False]
    assert p.median() == pytest.approx(9.0)


def test_too_few_samples_decide_nothing():
    p = Pressure(shed_above_ms=100, resume_below_ms=10, min_samples=4)
    assert [p.add(t / 4, 5000) for t in range(3)] == [False] * 3
    assert p.add(0.75, 5000) is True


def test_the_resume_level_must_be_below_the_shed_level():
    with pytest.raises(ValueError, match="below"):
        Pressure(shed_above_ms=50, resume_below_ms=50)


class FakeAri:
    """Round trips on demand; records what the dialplan global was set to."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.down = False
        self.refuse_globals = False
        self.globals: list[tuple[str, str]] = []

    async def ping(self) -> dict:
        if self.down:
            raise AriUnavailable(0, "GET", "/asterisk/ping", "not connected")
        await asyncio.sleep(self.delay)
        return {"ping": "pong"}

    async def set_global(self, name: str, value: str) -> None:
        if self.refuse_globals:
            raise AriUnavailable(0, "GET", "/asterisk/ping", "not connected")
        self.globals.append((name, value))


async def test_the_guard_raises_the_dialplan_flag_in_a_surge_and_lowers_it_after(caplog):
    ari = FakeAri()
    guard = SurgeGuard(ari, shed_above_ms=40, resume_below_ms=10)
    await guard.connected()  # a flag a dead run left up is lowered at every connect
    assert ari.globals == [(k.VAR_SHED, "0")]
    ari.delay = 0.06
    for _ in range(4):
        await guard.probe()
    assert guard.shedding and ari.globals[-1] == (k.VAR_SHED, "1")
    assert guard.status()["shedding"] is True and guard.status()["ari_round_trip_ms"] >= 40
    assert "new callers go to the fallback route" in caplog.text
    ari.delay = 0.0
    guard.pressure.samples.clear()  # as if 2 s had passed
    for _ in range(4):
        await guard.probe()
    assert not guard.shedding and ari.globals[-1] == (k.VAR_SHED, "0")
    assert ari.globals.count((k.VAR_SHED, "1")) == 1  # told once per change, not on every probe
    assert caplog.text.count("new callers go to the fallback route") == 1
    assert "new callers get the IVR again" in caplog.text


async def test_while_shedding_the_flag_is_sent_again_now_and_then_in_case_a_dialplan_reload_reset_it(caplog):
    ari = FakeAri()
    guard = SurgeGuard(ari, shed_above_ms=40, resume_below_ms=10, reassert_seconds=0.1)
    await guard.connected()
    ari.delay = 0.06
    for _ in range(4):
        await guard.probe()
    assert ari.globals == [(k.VAR_SHED, "0"), (k.VAR_SHED, "1")]
    await asyncio.sleep(0.1)
    await guard.probe()
    assert ari.globals == [(k.VAR_SHED, "0")] + [(k.VAR_SHED, "1")] * 2
    assert caplog.text.count("new callers go to the fallback route") == 1  # one line per surge, not per send


async def test_a_flag_asterisk_did_not_take_is_sent_again_on_the_next_probe():
    ari = FakeAri()
    guard = SurgeGuard(ari, shed_above_ms=40, resume_below_ms=10)
    ari.delay, ari.refuse_globals = 0.05, True
    for _ in range(4):
        await guard.probe()
    assert not guard.shedding and ari.globals == []
    ari.refuse_globals = False
    await guard.probe()
    assert guard.shedding and ari.globals == [(k.VAR_SHED, "1")]


async def test_while_not_connected_the_guard_measures_nothing():
    ari = FakeAri()
    ari.down = True
    guard = SurgeGuard(ari, shed_above_ms=40, resume_below_ms=10)
    await guard.probe()
    assert not guard.pressure.samples and ari.globals == []


async def test_a_ping_that_does_not_come_back_counts_as_the_timeout():
    ari = FakeAri()
    ari.delay = 1.0
    guard = SurgeGuard(ari, shed_above_ms=40, resume_below_ms=10, timeout=0.05)
    await guard.probe()
    assert 50 <= guard.pressure.median() < 500


async def test_pings_of_a_second_do_not_blind_the_guard():
    """One ping after the other, 0.8 s pings would leave too few samples in 2 s to decide anything."""
    ari = FakeAri()
    ari.delay = 0.8
    guard = SurgeGuard(ari, shed_above_ms=300, resume_below_ms=10, every=0.1)
    stop = asyncio.Event()
    running = asyncio.create_task(guard.run(stop))
    await asyncio.sleep(1.5)
    stop.set()
    await running
    assert guard.shedding and ari.globals == [(k.VAR_SHED, "0"), (k.VAR_SHED, "1")]
    assert len(guard.pressure.samples) >= 4


async def test_overlapping_probes_send_one_decision():
    ari = FakeAri()
    guard = SurgeGuard(ari, shed_above_ms=40, resume_below_ms=10)
    ari.delay = 0.06
    await asyncio.gather(*(guard.probe() for _ in range(8)))
    assert ari.globals == [(k.VAR_SHED, "0"), (k.VAR_SHED, "1")]  # before 4 samples: "not shedding", once


async def test_a_guard_turned_off_never_pings():
    ari = FakeAri()
    guard = SurgeGuard(ari, shed_above_ms=0, resume_below_ms=0)
    await asyncio.wait_for(guard.run(asyncio.Event()), 1)  # returns at once
    await guard.connected()
    assert guard.status() == {"shedding": False, "ari_round_trip_ms": None}
    assert ari.globals == [(k.VAR_SHED, "0")]  # a flag from an earlier run with the guard on is still lowered
