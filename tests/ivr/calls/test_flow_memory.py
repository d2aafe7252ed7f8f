"""An ended call is freed at once, by reference counting: it leaves no reference cycle behind.

Garbage in cycles waits for the cyclic collector; at 17.5 calls/s the service held about 600
ended calls that way (their ARI events and all), and its memory grew in steps (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import gc
import weakref

import pytest

from ivr.calls import events as ev
from tests.ivr.calls.support import NORMAL_CLEARING, connected, medical_in_kuta


@pytest.fixture
def no_cyclic_gc():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


async def ended_is_freed(call) -> None:
    assert call.flow.finished
    flow = weakref.ref(call.flow)
    call.flow = None
    assert flow() is None, f"still referred to by {[type(r).__name__ for r in gc.get_referrers(flow())]}"


async def test_a_completed_call(new_call, no_cyclic_gc):
    call, first = await connected(new_call)
    await call.send(ev.LegEnded(call.legs()[first], NORMAL_CLEARING, "Normal Clearing"))
    await ended_is_freed(call)


async def test_a_call_whose_caller_hung_up_while_lines_rang(new_call, no_cyclic_gc):
    call = await medical_in_kuta(new_call)
    await call.send(ev.CallerHungUp())
    await ended_is_freed(call)
