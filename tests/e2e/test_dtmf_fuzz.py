"""A sample of random key sequences through real calls: every 112 caller ends at a human.

The engine itself is fuzzed with thousands of sequences (tests/ivr/engine/test_engine_fuzz.py);
this runs a seeded handful through Asterisk, RFC 2833 DTMF and the whole call path.
No unit phone is registered, so any unit chosen fails at once and the fallback
group (operator-1) must take the call in the end.
"""

from __future__ import annotations

import random

import pytest

from tests.e2e.system import new_caller

pytestmark = [pytest.mark.e2e, pytest.mark.asterisk]

KEYS = list("0123456789*#")
SEQUENCES = [random.Random(seed).choices(KEYS, k=random.Random(seed).randint(1, 8)) for seed in range(4)]


@pytest.mark.parametrize("keys", SEQUENCES, ids=["".join(s) for s in SEQUENCES])
def test_any_key_sequence_on_112_ends_with_a_human(system, keys):
    caller = new_caller()
    with system.line("operator-1", answer_after=0.3) as operator:
        with system.call("112", caller, dtmf=keys, dtmf_after=0.5, dtmf_gap=0.3, duration=90) as citizen:
            operator.wait_for("answered", 60)
            system.case(caller, status={"connected"})
            citizen.stop()
    case = system.case(caller, status={"ended"})
    assert case["disposition"] == "completed"
    answered = [a for a in case["attempts"] if a["outcome"] == "answered"]
    assert [a["dial"] for a in answered] == ["PJSIP/operator-1"]
