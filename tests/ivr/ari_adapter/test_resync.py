"""Resync after a (re)connect: what Asterisk says is live decides; a conversation is never cut."""

from __future__ import annotations

import asyncio

import pytest

from ivr.ari_adapter import ids
from ivr.ari_adapter.resync import Resync
from ivr.ari_adapter.router import CallRouter
from ivr.calls import events as ev
from tests.ivr.ari_adapter.ari_events import APP, channel, leg_channel, stasis_start
from tests.ivr.ari_adapter.test_router import FakeFlow

KEY = "00aa11bb22cc33dd"  # the call key of a service run that died


class FakeAri:
    def __init__(self, channels: list[dict], bridges: list[dict], *, bridge_failures: int = 0) -> None:
        self.channels, self.bridges, self.hung_up, self.destroyed = channels, bridges, [], []
        self.bridge_failures = bridge_failures  # how many list_bridges calls fail first
        self.listed = 0

    async def list_channels(self) -> list[dict]:
        return self.channels

    async def list_bridges(self) -> list[dict]:
        self.listed += 1
        if self.listed <= self.bridge_failures:
            raise ConnectionError("ARI timed out")
        return self.bridges

    async def hangup(self, channel_id: str) -> None:
        self.hung_up.append(channel_id)

    async def destroy_bridge(self, bridge_id: str) -> None:
        self.destroyed.append(bridge_id)


@pytest.fixture
def adopted():
    return {"ivr": [], "connected": []}


def resync_for(ari: FakeAri, adopted: dict) -> tuple[Resync, CallRouter]:
    flows: list[FakeFlow] = []
    router = CallRouter(lambda key, first, post: flows.append(FakeFlow(key, first, post)) or flows[-1])

    async def adopt(chan: dict) -> None:
        adopted["ivr"].append(chan["id"])

    async def adopt_connected(chan: dict, key: str, leg: str) -> None:
        adopted["connected"].append((chan["id"], key, leg))

    return Resync(ari, router, app=APP, adopt=adopt, adopt_connected=adopt_connected, settle=0), router


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr("ivr.ari_adapter.resync.retry_delay", lambda tries: 0)


async def test_a_caller_talking_on_one_of_our_legs_is_adopted_as_connected_and_nothing_is_hung_up(adopted):
    caller, leg = channel("1764215000.21"), leg_channel(KEY, "leg1", state="Up")
    bridge = {"id": ids.bridge_id(KEY), "channels": [leg["id"], caller["id"]]}
    ari = FakeAri([leg, caller], [bridge])  # the leg listed first: it must not be released as an orphan
    resync, _ = resync_for(ari, adopted)
    await resync.run()
    assert adopted == {"ivr": [], "connected": [("1764215000.21", KEY, "leg1")]}
    assert ari.hung_up == []


async def test_a_caller_in_the_ivr_is_adopted_for_the_safe_path_and_an_orphan_leg_released(adopted):
    caller, leg = channel("1764215000.22"), leg_channel(KEY, "leg1", state="Ringing")
    ari = FakeAri([caller, leg], [])
    resync, _ = resync_for(ari, adopted)
    await resync.run()
    assert adopted == {"ivr": ["1764215000.22"], "connected": []}
    assert ari.hung_up == [leg["id"]]


async def test_a_channel_bridged_with_something_not_ours_stays_connected_untracked(adopted, caplog):
    caller, other = channel("1764215000.23"), channel("1764215000.24")
    ari = FakeAri([caller, other], [{"id": "someone-elses-bridge", "channels": [caller["id"], other["id"]]}])
    resync, _ = resync_for(ari, adopted)
    await resync.run()
    assert adopted == {"ivr": [], "connected": []} and ari.hung_up == []
    assert "stays connected (not tracked after restart)" in caplog.text


async def test_a_conversation_whose_call_the_service_still_follows_is_left_to_it(adopted):
    caller, leg = channel("1764215000.25"), leg_channel(KEY, "leg1", state="Up")
    ari = FakeAri([caller, leg], [{"id": ids.bridge_id(KEY), "channels": [caller["id"], leg["id"]]}])
    resync, router = resync_for(ari, adopted)
    router.start_call({"type": "StasisStart", "channel": caller, "args": ["112"]}, key=KEY)
    await resync.run()
    assert adopted == {"ivr": [], "connected": []} and ari.hung_up == []


async def test_an_agency_line_left_in_our_bridge_after_its_caller_hung_up_is_released_and_the_bridge_removed(adopted):
    leg = leg_channel(KEY, "leg1", state="Up")  # the caller hung up while the service was down
    ari = FakeAri([leg], [{"id": ids.bridge_id(KEY), "channels": [leg["id"]]}])
    resync, _ = resync_for(ari, adopted)
    await resync.run()
    assert ari.hung_up == [leg["id"]] and ari.destroyed == [ids.bridge_id(KEY)]
    assert adopted == {"ivr": [], "connected": []}


async def test_bridges_with_a_caller_in_them_or_not_ours_are_left_alone(adopted):
    caller, leg = channel("1764215000.26"), leg_channel(KEY, "leg1", state="Up")
    bridges = [
        {"id": ids.bridge_id(KEY), "channels": [caller["id"], leg["id"]]},
        {"id": "someone-elses", "channels": []},
    ]
    ari = FakeAri([caller, leg], bridges)
    resync, _ = resync_for(ari, adopted)
    await resync.run()
    assert ari.hung_up == [] and ari.destroyed == []  # the caller is adopted with its leg


async def test_when_the_bridges_cannot_be_listed_no_answered_caller_is_moved_until_they_can(adopted, caplog):
    """A conversation from the previous run looks like a caller left in the IVR without the bridge list."""
    caller, leg = channel("1764215000.31"), leg_channel(KEY, "leg1", state="Up")
    bridge = {"id": ids.bridge_id(KEY), "channels": [leg["id"], caller["id"]]}
    ari = FakeAri([caller, leg], [bridge], bridge_failures=2)
    resync, _ = resync_for(ari, adopted)
    await resync.run()
    assert ari.listed == 3  # two passes that could not list the bridges, then one that could
    assert adopted == {"ivr": [], "connected": [("1764215000.31", KEY, "leg1")]}
    assert ari.hung_up == [] and "no answered caller is moved" in caplog.text


async def test_a_caller_whose_stasis_start_arrives_while_the_resync_settles_is_not_adopted(adopted):
    caller = channel("1764215000.32")
    ari = FakeAri([caller], [])
    resync, router = resync_for(ari, adopted)
    resync.settle = 0.05

    async def arrives_meanwhile() -> None:
        router.route(stasis_start(caller, "112"))

    await asyncio.gather(resync.run(), arrives_meanwhile())
    assert adopted == {"ivr": [], "connected": []} and caller["id"] in router.by_channel


async def test_only_calls_known_at_the_connect_are_told_they_may_have_missed_events(adopted):
    old, new = channel("1764215000.33"), channel("1764215000.34")
    ari = FakeAri([old], [])
    resync, router = resync_for(ari, adopted)
    router.route(stasis_start(old, "112"))
    resync.connected()
    known = resync.connected()  # a reconnect
    router.route(stasis_start(new, "112"))  # arrived after it: not in Asterisk's list, and not gone
    await resync.run(known)
    workers = {w.caller: w for w in router.workers.values()}
    assert await workers[old["id"]].flow.until_seen(1) == [ev.ServiceResumed()]
    assert workers[new["id"]].flow.seen == [] and workers[new["id"]].queue.empty()  # not told it hung up


async def test_a_call_that_starts_and_ends_while_the_resync_settles_is_not_adopted_onto_its_closed_case(adopted):
    """Found by review: only ``by_channel`` was checked after the settle, and an ended call is not in it."""
    caller = channel("1764215000.35")
    ari = FakeAri([caller], [])
    resync, router = resync_for(ari, adopted)
    resync.settle = 0.05

    async def comes_and_goes() -> None:
        router.route(stasis_start(caller, "112"))
        ari.channels = []  # the caller hung up: Asterisk lists it no more
        [worker] = router.workers.values()
        worker.post(ev.CallerHungUp())
        await asyncio.sleep(0.01)

    await asyncio.gather(resync.run(), comes_and_goes())
    assert adopted == {"ivr": [], "connected": []}


class FailingChannels(FakeAri):
    def __init__(self, *args, channel_failures: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.channel_failures = channel_failures

    async def list_channels(self) -> list[dict]:
        if self.channel_failures:
            self.channel_failures -= 1
            raise ConnectionError("ARI timed out")
        return self.channels


async def test_calls_known_at_a_reconnect_are_told_even_when_the_first_pass_cannot_list_the_channels(adopted):
    """Found by review: a failed first pass forgot the known calls, whose hang-up may have been missed."""
    gone, here = channel("1764215000.36"), channel("1764215000.37")
    ari = FailingChannels([here], [], channel_failures=2)
    resync, router = resync_for(ari, adopted)
    router.route(stasis_start(gone, "112"))
    router.route(stasis_start(here, "112"))
    resync.connected()
    known = resync.connected()  # a reconnect
    await resync.run(known)
    workers = {w.caller: w for w in router.workers.values()}
    assert await workers[gone["id"]].flow.until_seen(1) == [ev.CallerHungUp()]
    assert await workers[here["id"]].flow.until_seen(1) == [ev.ServiceResumed()]


async def test_an_agency_hang_up_between_the_bridge_list_and_the_adoption_is_not_lost(adopted):
    """Found by review: with the resync beside the event reader, that leg's end found no call to go to."""
    from ivr.ari import errors

    caller, leg = channel("1764215000.38"), leg_channel(KEY, "leg1", state="Up")
    ari = FakeAri([caller, leg], [{"id": ids.bridge_id(KEY), "channels": [caller["id"], leg["id"]]}])
    resync, router = resync_for(ari, adopted)

    async def adopt_connected(chan: dict, key: str, leg_name: str) -> None:
        router.start_call(stasis_start(chan, "112"), resumed=True, key=key, connected_leg=leg_name)
        ari.channels = [caller]  # the agency hung up meanwhile; its ChannelDestroyed went nowhere

    async def get_channel(channel_id: str) -> dict:
        for c in ari.channels:
            if c["id"] == channel_id:
                return c
        raise errors.AriNotFound(404, "GET", f"/channels/{channel_id}", "Channel not found")

    resync.adopt_connected, ari.get_channel = adopt_connected, get_channel
    await resync.run()
    [worker] = router.workers.values()
    assert await worker.flow.until_seen(1) == [ev.LegEnded("leg1", 0, "gone during the resync")]


async def test_a_conference_found_after_a_restart_is_followed_on_the_units_leg_not_the_call_takers(adopted):
    """Found by review: following the call-taker's leg, the agent leaving the conference cut caller and unit."""
    caller = channel("1764215000.41")
    agent, unit = leg_channel(KEY, "ag1", state="Up"), leg_channel(KEY, "un2", state="Up")
    bridge = {"id": ids.bridge_id(KEY), "channels": [agent["id"], caller["id"], unit["id"]]}
    ari = FakeAri([agent, caller, unit], [bridge])
    resync, _ = resync_for(ari, adopted)
    await resync.run()
    assert adopted == {"ivr": [], "connected": [("1764215000.41", KEY, "un2")]}
    assert ari.hung_up == []
