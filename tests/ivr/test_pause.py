"""The pause of a background task: its full length, or until the service stops."""

from __future__ import annotations

import asyncio

from ivr.pause import stopped_within


async def test_a_pause_ends_early_when_the_service_stops_and_says_so():
    stop = asyncio.Event()
    assert await stopped_within(stop, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, stop.set)
    assert await asyncio.wait_for(stopped_within(stop, 30), 5) is True
