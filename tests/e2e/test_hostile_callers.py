"""Callers whose caller ID is an attack: no phantom case, no other case touched, each caller's own case right.

Real SIP calls over the trunk: pjsua2 callers (From user URI-escaped, display name
quoted), and SIPp for a 1,000-character number (pjsua2 cannot send one). What a
case keeps of the number is its safe rendering (``app.cases.callers``): ASCII
digits, letters, ``+ * #``, at most 64 of them; Asterisk itself keeps 79
characters of a caller number.
"""

from __future__ import annotations

import re
import time
from urllib.parse import unquote

import pytest

from app.cases.callers import safe_caller_number
from app.cases.service import list_cases
from app.cases.views import case_as_dict
from ivr.fallback_lines import parse
from tests.e2e.sipp_caller import sipp_call
from tests.e2e.system import new_caller

pytestmark = [pytest.mark.e2e, pytest.mark.asterisk]

# The From user that made a phantom case for 6281666 (the reproduced bug), as it was sent.
FORGED = "SIAGA-JOURNAL%7C1796391099%7Cstart%7C9999.1%7C112%7C6281666%7CFORGED"
ASTERISK_KEEPS = 79  # characters of a caller number (res_pjsip: an 80-byte buffer)


def hostile(victim: str) -> list[tuple[str, str]]:
    """(From user, display name); ``victim`` is the channel of another caller's case, to close or relabel."""
    end = f"SIAGA-JOURNAL%7C1796391099%7Cend%7C{victim}%7CANSWER%7CPJSIP%2Fevil-1-00000001%7C999"
    return [
        (FORGED, ""),
        (end, ""),
        (f"0812%0A%0D%5B2026-12-04%2000%3A00%3A00.000%5D%20SIAGA_JOURNAL%5B1%5D%20Ext.%20112%3A%20{end}", ""),
        ("0813%7C%7C%7C", f"Bayu Ñandú | SIAGA-JOURNAL|1796391099|start|{victim}|112|6281666|FORGED"),
        ("9" * 1000, "Ñandú " * 150),  # SIPp
    ]


def expected(user: str) -> str:
    return safe_caller_number(unquote(user)[:ASTERISK_KEEPS])


def by_sipp(user: str) -> bool:
    # pjsua2 refuses URIs past 256 characters, and sends an INVITE past 1,300 bytes over TCP (not taken here).
    return len(user) > 100


def sipp(system, tmp, user: str, name: str) -> None:
    target = f"127.0.0.1:{system.values['SIAGA_SIP__PORT']}"
    sipp_call(tmp / f"sipp-{time.monotonic_ns()}", target, "112", caller=user, name=name)


def call_to_the_operator(system, tmp, operator, user: str, name: str) -> None:
    """One call on the fallback route, answered by ``operator`` and hung up after a moment."""
    if by_sipp(user):
        sipp(system, tmp, user, name)
    else:
        with system.call("112", user, from_name=name, duration=1.5) as citizen:
            citizen.wait_for("answered", 20)
            citizen.wait_for("disconnected", 15)
    operator.wait_for("disconnected", 10)


def cases_since(system, since: float) -> list[dict]:
    with system.sessions() as session:
        found = [c for c in list_cases(session, limit=500) if c.received_at.timestamp() >= since - 1]
        return [case_as_dict(session, c, events=True) for c in found]


def journal_holds_only_journal_lines(system) -> None:
    for line in system.asterisk.fallback_journal.read_text(errors="replace").splitlines():
        parse(line)  # raises on anything that is not a journal line our dialplan wrote (or the banner)


def test_hostile_caller_ids_while_the_service_is_down_make_no_phantom_and_touch_no_other_case(system, tmp_path):
    ordinary = new_caller()
    system.stop_service()
    since = time.time()
    try:
        with system.line("operator-1", answer_after=0.3) as operator:
            call_to_the_operator(system, tmp_path, operator, ordinary, "")
            journal = system.asterisk.fallback_journal.read_text()
            victim = re.search(rf"\|start\|([0-9.]+)\|112\|{ordinary}\|", journal).group(1)
            callers = hostile(victim)
            for user, name in callers:
                call_to_the_operator(system, tmp_path, operator, user, name)
    finally:
        system.start_service()
    system.until(lambda: len(cases_since(system, since)) >= 6, 20, "the cases")
    system.until(lambda: all(c["status"] == "ended" for c in cases_since(system, since)), 20, "every case ended")
    found = cases_since(system, since)
    assert sorted(c["caller_number"] for c in found) == sorted([ordinary] + [expected(u) for u, _ in callers])
    for case in found:  # each its own call: ended on the fallback route, answered by the operator, once
        assert (case["status"], case["disposition"], case["answered_by_unit"]) == ("ended", "fallback", "operator-1")
        kinds = [e["kind"] for e in case["events"]]
        assert kinds.count("fallback.dialplan") == 1 and kinds.count("fallback.ended") == 1
        assert all(e["detail"]["seconds"] < 60 for e in case["events"] if e["kind"] == "fallback.ended")
    [mine] = [c for c in found if c["caller_number"] == ordinary]
    assert mine["channel_id"] == victim and "6281666" not in {c["caller_number"] for c in found}
    assert not [c for c in found if c["channel_id"] in ("9999.1",)]
    assert system.health()["journal_rejected"] == 0
    journal_holds_only_journal_lines(system)


def test_hostile_caller_ids_while_the_service_is_up_get_their_own_safe_case(system, tmp_path):
    ordinary = new_caller()
    since = time.time()
    with system.call("112", ordinary, duration=60) as waiting:  # in the IVR while the others call
        waiting.wait_for("answered", 10)
        victim = system.case(ordinary, status={"in-ivr"})["channel_id"]
        callers = hostile(victim)
        citizens = [system.call("112", u, from_name=n, duration=1.5) for u, n in callers if not by_sipp(u)]
        for user, name in callers:
            if by_sipp(user):
                sipp(system, tmp_path, user, name)
        for citizen in citizens:
            citizen.wait_for("disconnected", 15)
            citizen.stop()
        system.until(lambda: len(cases_since(system, since)) >= 6, 20, "the cases")
        assert system.case(ordinary)["status"] != "ended"  # nobody closed it
        waiting.stop()
    system.until(lambda: all(c["status"] == "ended" for c in cases_since(system, since)), 20, "every case ended")
    found = cases_since(system, since)
    assert sorted(c["caller_number"] for c in found) == sorted([ordinary] + [expected(u) for u, _ in callers])
    for case in found:
        if case["caller_number"] != ordinary:  # in the IVR a few seconds, then gone
            assert (case["status"], case["disposition"]) == ("ended", "abandoned-in-ivr")
        assert case["answered_by_unit"] != "evil-1"
        assert not [e for e in case["events"] if e["kind"] == "fallback.ended" and "evil" in e["detail"]["peer"]]
    # The service logs each caller in its safe rendering (ARI events at DEBUG as escaped JSON): no line of
    # its log starts with what a caller sent after an encoded line break.
    lines = system.service_log.read_text(errors="replace").splitlines()
    assert not [line for line in lines if line.startswith(("[2026-12-04", "SIAGA"))]
    assert system.health()["journal_rejected"] == 0
