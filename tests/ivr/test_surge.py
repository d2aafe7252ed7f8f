"""The surge guard: when to shed new callers to the fallback route, and telling the dialplan so."""

from __future__ import annotations

import asyncio

import pytest

from app.asterisk import constants as k
from app.settings import IvrSettings
from ivr.ari.errors import AriUnavailable
from ivr.surge import Level, Pressure, SurgeGuard, levels, shed_lines

ONE = [None, Level(250, 50)]  # level 2 only: both lines at once
TWO = [Level(100, 30), Level(250, 50)]  # 14084 first, then both


def test_shedding_starts_when_the_median_round_trip_passes_the_limit_and_stops_well_below_it():
    p = Pressure(ONE, window_seconds=2.0, min_samples=4)
    assert [p.add(t / 4, ms) for t, ms in enumerate([3, 4, 900, 5])] == [0] * 4  # one slow ping is not a surge
    # Later (the window holds the last 2 s only): four samples are needed before anything is decided.
    assert [p.add(10 + t / 4, ms) for t, ms in enumerate([300, 320, 400, 380, 350])] == [0] * 3 + [2] * 2
    # Back under the limit but not under the resume level: still shedding (no flapping around one level).
    assert [p.add(11.25 + t / 4, ms) for t, ms in enumerate([120, 110, 100, 90, 80, 70, 60])] == [2] * 7
    # Quiet again: once the window holds enough fast samples, new callers get the IVR.
    assert [p.add(20 + t / 4, ms) for t, ms in enumerate([20, 10, 8, 6])] == [2] * 3 + [0]
    assert p.median() == pytest.approx(9.0)


def test_complaints_are_shed_first_and_get_the_ivr_back_last():
    p = Pressure(TWO, min_samples=1, window_seconds=0)
    # A rising round trip: 14084 first (level 1), then both lines (level 2).
    assert [p.add(t, ms) for t, ms in enumerate([20, 99, 100, 200, 249, 250, 400])] == [0, 0, 1, 1, 1, 2, 2]
    # Falling: each level keeps its own hysteresis; 112 gets the IVR back first.
    assert [p.add(10 + t, ms) for t, ms in enumerate([100, 50, 49, 31, 30, 29, 5])] == [2, 2, 1, 1, 1, 0, 0]
    assert shed_lines(0) == [] and shed_lines(1) == [k.LINE_14084] and shed_lines(2) == [k.LINE_112, k.LINE_14084]


def test_a_jump_straight_past_both_limits_sheds_both_lines_at_once():
    p = Pressure(TWO, min_samples=1, window_seconds=0)
    assert p.add(0, 900) == 2 and p.over == [True, True]
    assert p.add(1, 10) == 0


def test_too_few_samples_decide_nothing():
    p = Pressure(ONE, min_samples=4)
    assert [p.add(t / 4, 5000) for t in range(3)] == [0] * 3
    assert p.add(0.75, 5000) == 2


def test_resume_levels_must_be_below_their_shed_levels_and_levels_must_rise():
    with pytest.raises(ValueError, match="below"):
        Pressure([None, Level(50, 50)])
    with pytest.raises(ValueError, match="below"):
        Pressure([Level(40, 40), Level(50, 10)])
    with pytest.raises(ValueError, match="higher"):
        Pressure([Level(60, 10), Level(50, 10)])


def test_the_settings_give_14084_level_1_and_both_lines_level_2_and_zero_turns_the_guard_off():
    assert levels(IvrSettings()) == [Level(80, 30), Level(150, 40)]
    assert levels(IvrSettings(shed_14084_above_ms=0)) == [None, Level(150, 40)]
    assert levels(IvrSettings(shed_above_ms=0)) == []
    assert k.SHED_LEVELS == {k.LINE_14084: 1, k.LINE_112: 2}  # what the dialplan compares SIAGA_SHED with


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
    guard = SurgeGuard(ari, levels=[None, Level(40, 10)])
    await guard.connected()  # a flag a dead run left up is lowered at every connect
    assert ari.globals == [(k.VAR_SHED, "0")]
    ari.delay = 0.06
    for _ in range(4):
        await guard.probe()
    assert guard.shedding and ari.globals[-1] == (k.VAR_SHED, "2")
    assert guard.status()["shedding"] is True and guard.status()["ari_round_trip_ms"] >= 40
    assert "new callers of 112 and 14084 go to the fallback route" in caplog.text
    ari.delay = 0.0
    guard.pressure.samples.clear()  # as if 2 s had passed
    for _ in range(4):
        await guard.probe()
    assert not guard.shedding and ari.globals[-1] == (k.VAR_SHED, "0")
    assert ari.globals.count((k.VAR_SHED, "2")) == 1  # told once per change, not on every probe
    assert caplog.text.count("new callers of 112 and 14084 go to the fallback route") == 1
    assert "new callers get the IVR again" in caplog.text


async def test_while_shedding_the_flag_is_sent_again_now_and_then_in_case_a_dialplan_reload_reset_it(caplog):
    ari = FakeAri()
    guard = SurgeGuard(ari, levels=[None, Level(40, 10)], reassert_seconds=0.1)
    await guard.connected()
    ari.delay = 0.06
    for _ in range(4):
        await guard.probe()
    assert ari.globals == [(k.VAR_SHED, "0"), (k.VAR_SHED, "2")]
    await asyncio.sleep(0.1)
    await guard.probe()
    assert ari.globals == [(k.VAR_SHED, "0")] + [(k.VAR_SHED, "2")] * 2
    assert (
        caplog.text.count("new callers of 112 and 14084 go to the fallback route") == 1
    )  # one line per surge, not per send


async def test_a_flag_asterisk_did_not_take_is_sent_again_on_the_next_probe():
    ari = FakeAri()
    guard = SurgeGuard(ari, levels=[None, Level(40, 10)])
    ari.delay, ari.refuse_globals = 0.05, True
    for _ in range(4):
        await guard.probe()
    assert not guard.shedding and ari.globals == []
    ari.refuse_globals = False
    await guard.probe()
    assert guard.shedding and ari.globals == [(k.VAR_SHED, "2")]


async def test_while_not_connected_the_guard_measures_nothing():
    ari = FakeAri()
    ari.down = True
    guard = SurgeGuard(ari, levels=[None, Level(40, 10)])
    await guard.probe()
    assert not guard.pressure.samples and ari.globals == []


async def test_a_ping_that_does_not_come_back_counts_as_the_timeout():
    ari = FakeAri()
    ari.delay = 1.0
    guard = SurgeGuard(ari, levels=[None, Level(40, 10)], timeout=0.05)
    await guard.probe()
    assert 50 <= guard.pressure.median() < 500


async def test_pings_of_a_second_do_not_blind_the_guard():
    """One ping after the other, 0.8 s pings would leave too few samples in 2 s to decide anything."""
    ari = FakeAri()
    ari.delay = 0.8
    guard = SurgeGuard(ari, levels=[None, Level(300, 10)], every=0.1)
    stop = asyncio.Event()
    running = asyncio.create_task(guard.run(stop))
    await asyncio.sleep(1.5)
    stop.set()
    await running
    assert guard.shedding and ari.globals == [(k.VAR_SHED, "0"), (k.VAR_SHED, "2")]
    assert len(guard.pressure.samples) >= 4


async def test_overlapping_probes_send_one_decision():
    ari = FakeAri()
    guard = SurgeGuard(ari, levels=[None, Level(40, 10)])
    ari.delay = 0.06
    await asyncio.gather(*(guard.probe() for _ in range(8)))
    assert ari.globals == [(k.VAR_SHED, "0"), (k.VAR_SHED, "2")]  # before 4 samples: "not shedding", once


async def test_a_guard_turned_off_never_pings():
    ari = FakeAri()
    guard = SurgeGuard(ari, levels=[])
    await asyncio.wait_for(guard.run(asyncio.Event()), 1)  # returns at once
    await guard.connected()
    assert guard.status() == {"shedding": False, "shed_lines": [], "ari_round_trip_ms": None}
    assert ari.globals == [(k.VAR_SHED, "0")]  # a flag from an earlier run with the guard on is still lowered


async def test_the_guard_sheds_14084_first_then_both_lines_and_gives_112_the_ivr_back_first(caplog):
    ari = FakeAri()
    guard = SurgeGuard(ari, levels=[Level(40, 10), Level(100, 50)])
    await guard.connected()

    async def settle_at(delay: float) -> dict:
        ari.delay = delay
        guard.pressure.samples.clear()  # as if 2 s had passed
        for _ in range(4):
            await guard.probe()
        return guard.status()

    assert (await settle_at(0.06))["shed_lines"] == [k.LINE_14084]  # ~60 ms: complaints only
    assert (await settle_at(0.12))["shed_lines"] == [k.LINE_112, k.LINE_14084]  # ~120 ms: both
    easing = await settle_at(0.02)  # ~20 ms: below 112's resume level, not below 14084's
    assert easing["shed_lines"] == [k.LINE_14084] and easing["shedding"] is True
    over = await settle_at(0.0)
    assert over["shed_lines"] == [] and over["shedding"] is False
    assert [value for _, value in ari.globals] == ["0", "1", "2", "1", "0"]  # one set per change
    assert "new callers of 14084 go to the fallback route" in caplog.text
    assert "new callers of 112 and 14084 go to the fallback route" in caplog.text
    assert "new callers of 112 get the IVR again, of 14084 not yet" in caplog.text
    assert "surge over after" in caplog.text
