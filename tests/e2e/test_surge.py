"""The surge guard end to end: while the service sheds, new callers go to the humans before Stasis().

A real surge is the bench's business (bench/, docs/PERFORMANCE.md); here the guard's limits are set
so low that every ping counts as slow, to see what a shed caller gets and what its case says, and
the dialplan's level is set directly, to see which line is shed at which level (14084 first).
"""

from __future__ import annotations

import signal
import time
from contextlib import contextmanager

import pytest

from app.asterisk import constants as k
from tests.e2e.system import new_caller, wav_seconds

pytestmark = [pytest.mark.e2e, pytest.mark.asterisk]


@contextmanager
def service_with(system, **env: str):
    """The call service restarted with some settings changed; the usual one again afterwards."""
    saved = dict(system.env)
    system.stop_service()
    system.env.update(env)
    try:
        system.start_service()
        yield
    finally:
        system.stop_service(signal.SIGKILL)  # as a crash would leave it: the flag must not outlive the run
        system.env.clear()
        system.env.update(saved)
        system.start_service()


def shed_flag(system) -> str:
    """SIAGA_SHED as Asterisk's dialplan has it."""
    for line in system.asterisk.cli("dialplan show globals").splitlines():
        name, _, value = line.strip().partition("=")
        if name == k.VAR_SHED:
            return value
    raise AssertionError("SIAGA_SHED is not a dialplan global")


def overload_reasons(case: dict) -> list[str]:
    return [e["detail"].get("reason") for e in case["events"] if e["kind"] == "fallback.dialplan"]


def test_a_caller_arriving_while_the_service_sheds_a_surge_reaches_a_human_and_gets_a_case(system):
    caller = new_caller()
    limits = {
        "SIAGA_IVR__SHED_14084_ABOVE_MS": "0.0005",
        "SIAGA_IVR__RESUME_14084_BELOW_MS": "0",
        "SIAGA_IVR__SHED_ABOVE_MS": "0.001",
        "SIAGA_IVR__RESUME_BELOW_MS": "0",
    }
    with service_with(system, **limits):  # every ping is past both limits: level 2, both lines shed
        system.until(lambda: system.health().get("shed_lines") == ["112", "14084"], 10, "the service to shed")
        assert shed_flag(system) == "2"  # what the dialplan reads
        health = system.health()
        assert health["status"] == "ok" and health["shedding"] is True  # shedding is not an outage
        assert health["ari_round_trip_ms"] > 0
        with system.line("operator-1", answer_after=0.3) as operator:
            with system.call("112", caller, duration=30) as citizen:
                operator.wait_for("answered", 10)  # no IVR: straight to the command-center group
                citizen.wait_for("answered", 5)
                time.sleep(1.5)  # a few words: the recording has audio
                citizen.stop()
            operator.wait_for("disconnected", 10)
        case = system.case(caller, status={"ended"}, timeout=15)
    assert (case["line"], case["disposition"], case["answered_by_unit"]) == ("112", "fallback", "operator-1")
    assert overload_reasons(case) == ["OVERLOAD"]
    assert (case["language"], case["category"]) == (None, None)  # it never heard a menu
    filed = system.until(lambda: system.case(caller, status={"ended"}).get("recording"), 10, "the recording filed")
    assert wav_seconds(system.settings.recordings_dir / filed) > 1.0

    # The shedding run was killed with the flag up; the next run lowers it: the IVR answers again.
    system.until(lambda: shed_flag(system) == "0", 10, "the restarted service to lower the flag")
    assert system.health().get("shedding") is False and system.health().get("shed_lines") == []
    after = new_caller()
    with system.line("psc-kuta", answer_after=0.3) as unit:
        with system.call("112", after, dtmf=["1", "2"], dtmf_after=1.0, duration=20) as citizen:
            unit.wait_for("answered", 25)
            citizen.stop()
    case = system.case(after, status={"ended"})
    assert (case["disposition"], case["category"], case["district"]) == ("completed", "medical", "kuta")


def test_at_level_1_complaint_callers_are_shed_while_112_callers_keep_the_ivr_and_at_level_2_both_are(system):
    """The level as the guard sets it (round trips past ivr.shed_14084_above_ms, then ivr.shed_above_ms).

    Set here straight in the dialplan: the guard, idle at level 0, leaves it alone until its own
    decision changes.
    """
    try:
        system.asterisk.cli(f"dialplan set global {k.VAR_SHED} 1")
        complaint, emergency = new_caller(), new_caller()
        with system.line("operator-1", answer_after=0.3) as operator, system.line("psc-kuta", answer_after=0.3) as unit:
            with (
                system.call("14084", complaint, duration=30) as first,
                system.call("112", emergency, dtmf=["1", "2"], dtmf_after=1.0, duration=30) as second,
            ):
                operator.wait_for("answered", 10)  # 14084: no IVR, straight to the command-center group
                unit.wait_for("answered", 25)  # 112: through the IVR to the Kuta unit
                first.stop()
                second.stop()
        case = system.case(complaint, status={"ended"})
        assert (case["line"], case["disposition"], case["language"]) == ("14084", "fallback", None)
        assert overload_reasons(case) == ["OVERLOAD"]
        case = system.case(emergency, status={"ended"})
        assert (case["disposition"], case["category"], case["district"]) == ("completed", "medical", "kuta")
        assert overload_reasons(case) == []

        system.asterisk.cli(f"dialplan set global {k.VAR_SHED} 2")
        for number in ("112", "14084"):  # one after the other: the test's operator phone has no call waiting
            caller = new_caller()
            with system.line("operator-1", answer_after=0.3) as operator:
                with system.call(number, caller, duration=30) as citizen:
                    operator.wait_for("answered", 10)
                    citizen.stop()
            case = system.case(caller, status={"ended"})
            assert (case["line"], case["disposition"], case["language"]) == (number, "fallback", None)
            assert overload_reasons(case) == ["OVERLOAD"]
    finally:
        system.asterisk.cli(f"dialplan set global {k.VAR_SHED} 0")
