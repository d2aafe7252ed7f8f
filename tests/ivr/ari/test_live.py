"""AriClient and EventStream against a real Asterisk 22 (demo profile, ports of its own).

A Local channel into the demo responder stands in for a caller: its ``;1``
half (named with our channel id) enters the Stasis app once the ``;2`` half
answers in the dialplan.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from app.asterisk import AsteriskInstance, AsteriskNotFound, find_asterisk
from app.asterisk.constants import CONTEXT_DEMO_RESPONDER, DEMO_FALLBACK_EXTEN
from app.directory.loader import load_directory
from ivr.ari import AriAuthError, AriClient, AriNotFound, AriUnavailable, EventStream
from ivr.ari.rest_ws import RestOverStream
from ivr.ari_adapter.recordings import AriSpool, Gone, LocalSpool, wav_closed
from tests.app.asterisk.support import settings_on_free_ports
from tests.support.parts import need
from tests.support.waiting import eventually

pytestmark = pytest.mark.asterisk

RESPONDER = f"Local/{DEMO_FALLBACK_EXTEN}@{CONTEXT_DEMO_RESPONDER}"


@pytest.fixture(scope="module")
def asterisk():
    # Ports the kernel picks: no clash with `make run` or another test's Asterisk.
    settings = settings_on_free_ports(rtp_base=45000)
    try:
        find_asterisk(settings)
        found = True
    except AsteriskNotFound:
        found = False
    need(found, "Asterisk 22 (host binary or the project chroot)")
    instance = AsteriskInstance(settings, load_directory(settings.directory), "ari-live")
    with instance:
        yield instance


class Events:
    """What the stream delivered, and a polling wait for the one we expect."""

    def __init__(self) -> None:
        self.seen: list[dict] = []
        self.connected = 0

    def on_event(self, event: dict) -> None:
        self.seen.append(event)

    def on_connected(self) -> None:
        self.connected += 1

    async def wait(self, what: str, match, timeout: float = 10.0) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for event in self.seen:
                if match(event):
                    return event
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no {what} within {timeout} s; saw {[e.get('type') for e in self.seen]}")
            await asyncio.sleep(0.02)

    async def wait_type(self, kind: str, key: str, ident: str, timeout: float = 10.0) -> dict:
        """The first ``kind`` event whose ``key`` object (channel, playback...) is ours."""
        id_field = "name" if key == "recording" else "id"  # recordings are known by name
        return await self.wait(
            f"{kind} for {ident}", lambda e: e.get("type") == kind and e.get(key, {}).get(id_field) == ident, timeout
        )


@pytest.fixture(params=["http", "websocket"])
async def live(asterisk, request):
    """Client and stream; requests over HTTP, or over the events websocket (Asterisk 22.3+)."""
    ari = asterisk.settings.ari
    events = Events()
    rest = RestOverStream() if request.param == "websocket" else None
    stream = EventStream.from_settings(ari, rest=rest)
    task = asyncio.create_task(stream.run(events.on_event, events.on_connected))
    async with AriClient.from_settings(ari, rest=rest) as client:
        await asyncio.wait_for(stream.connected.wait(), 10)
        if rest is not None:
            await eventually(lambda: rest.ready, what="requests over the websocket")
        yield client, stream, events
        if rest is not None:  # the test's requests really went that way
            assert rest.sent > 1
    stream.stop()
    await asyncio.wait_for(task, 5)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def test_a_call_enters_the_app_plays_is_bridged_recorded_and_hung_up(live, asterisk):
    client, stream, events = live
    app = asterisk.settings.ari.app
    channel, bridge, recording = new_id("ch"), new_id("br"), new_id("rec")

    assert (await client.application(app))["name"] == app
    assert (await client.asterisk_info())["system"]["version"].startswith("22.")

    await client.originate(RESPONDER, channel_id=channel, app=app, app_args="112,live")
    start = await events.wait_type("StasisStart", "channel", channel)
    assert start["args"] == ["112", "live"]
    assert channel in {c["id"] for c in await client.list_channels()}

    await client.set_var(channel, "SIAGA_TEST", "ok")
    assert await client.get_var(channel, "SIAGA_TEST") == "ok"

    beep = new_id("pb")
    await client.play(channel, beep, ["sound:beep"])
    await events.wait_type("PlaybackStarted", "playback", beep)
    finished = await events.wait_type("PlaybackFinished", "playback", beep)
    assert finished["playback"]["state"] == "done"

    ring = new_id("pb")
    await client.play(channel, ring, "tone:ring")  # plays until stopped
    await events.wait_type("PlaybackStarted", "playback", ring)
    await client.stop_playback(ring)
    await events.wait_type("PlaybackFinished", "playback", ring)

    await client.create_bridge(bridge, name="live-test")
    await client.add_to_bridge(bridge, channel)
    await events.wait_type("ChannelEnteredBridge", "channel", channel)
    assert bridge in {b["id"] for b in await client.list_bridges()}
    await client.play_on_bridge(bridge, new_id("pb"), "sound:beep")

    await client.record_bridge(bridge, recording)
    await events.wait_type("RecordingStarted", "recording", recording)
    await asyncio.sleep(0.3)  # some audio in it: a recording stopped at once can be a bare header
    await client.stop_recording(recording)
    await events.wait_type("RecordingFinished", "recording", recording)
    assert (await client.stored_recording_file(recording))[:4] == b"RIFF"
    # The call service takes recordings from Asterisk's folder on disk when it is on this host:
    # the same bytes as over ARI, and removing it there removes it from ARI's stored recordings.
    over_ari = await AriSpool(client).fetch(recording)
    assert wav_closed(over_ari)
    on_disk = LocalSpool(asterisk.recordings_dir, AriSpool(client))
    assert await on_disk.look(recording) == (over_ari, len(over_ari))
    await on_disk.delete(recording)
    with pytest.raises(Gone):
        await AriSpool(client).fetch(recording)
    await AriSpool(client).delete(recording)  # already gone: quietly nothing

    await client.hangup(channel)
    await events.wait_type("StasisEnd", "channel", channel)
    with pytest.raises(AriNotFound, match="Channel not found"):
        await client.get_channel(channel)
    await client.destroy_bridge(bridge)
    # Until BridgeDestroyed, a second destroy may get 409 "not in Stasis", not 404.
    await events.wait_type("BridgeDestroyed", "bridge", bridge)
    assert bridge not in {b["id"] for b in await client.list_bridges()}


async def test_a_created_channel_is_in_the_app_before_it_is_dialled(live, asterisk):
    client, stream, events = live
    channel = new_id("ch")

    await client.create_channel(RESPONDER, channel_id=channel, app=asterisk.settings.ari.app, app_args="unit")
    await events.wait_type("StasisStart", "channel", channel)
    await client.dial(channel, timeout=10)
    await events.wait(
        f"{channel} up",
        lambda e: (
            e.get("type") == "ChannelStateChange" and e["channel"]["id"] == channel and e["channel"]["state"] == "Up"
        ),
    )

    app = await client.subscribe(asterisk.settings.ari.app, f"channel:{channel}")
    assert channel in app["channel_ids"]
    await client.continue_in_dialplan(channel, CONTEXT_DEMO_RESPONDER, DEMO_FALLBACK_EXTEN)
    await events.wait_type("StasisEnd", "channel", channel)  # left the app for the dialplan
    await client.hangup(channel)
    await events.wait_type("ChannelDestroyed", "channel", channel)


async def test_wrong_password_is_an_auth_error_on_rest_and_a_readable_line_on_events(asterisk, caplog):
    ari = asterisk.settings.ari
    async with AriClient(ari.base_url, ari.user, "not-the-password") as client:
        with pytest.raises(AriAuthError) as caught:
            await client.asterisk_info()
    assert caught.value.status == 401

    stream = EventStream(ari.base_url, ari.user, "not-the-password", ari.app, max_backoff=0.2)
    task = asyncio.create_task(stream.run(lambda event: None))
    try:
        await eventually(lambda: stream.failed_attempts >= 2, what="two refused upgrades")
    finally:
        stream.stop()
    await asyncio.wait_for(task, 2)
    assert stream.connects == 0
    assert f"refused user '{ari.user}' (HTTP 401)" in stream.last_error


async def test_the_stream_comes_back_after_asterisk_restarts(live, asterisk):
    client, stream, events = live
    # "module reload res_ari.so" keeps the websocket open (checked): only a restart drops it.
    await asyncio.to_thread(asterisk.stop)
    await eventually(lambda: not stream.connected.is_set(), what="the stream to notice", seconds=10)
    assert stream.state in {"connecting", "backoff"}
    with pytest.raises(AriUnavailable, match="connection refused"):
        await client.asterisk_info()

    await asyncio.to_thread(asterisk.start)
    await asyncio.wait_for(stream.connected.wait(), 10)
    assert stream.reconnects == 1 and events.connected == 2

    channel = new_id("ch")
    await client.originate(RESPONDER, channel_id=channel, app=asterisk.settings.ari.app)
    await events.wait_type("StasisStart", "channel", channel)
    await client.hangup(channel)
    await events.wait_type("StasisEnd", "channel", channel)


async def test_the_event_filter_keeps_only_the_types_asked_for(live, asterisk):
    client, stream, events = live
    app = asterisk.settings.ari.app
    await client.event_filter(app, ["StasisStart", "StasisEnd"])
    try:
        channel = new_id("ch")
        await client.originate(RESPONDER, channel_id=channel, app=app)
        await events.wait_type("StasisStart", "channel", channel)
        await client.play(channel, new_id("pb"), "sound:beep")
        await client.hangup(channel)
        await events.wait_type("StasisEnd", "channel", channel)
        mine = [e["type"] for e in events.seen if (e.get("channel") or {}).get("id") == channel or "playback" in e]
        assert set(mine) == {"StasisStart", "StasisEnd"}, mine
    finally:
        await client.event_filter(app, [])
    assert (await client.application(app))["events_allowed"] == []


async def test_requests_in_flight_over_the_websocket_fail_as_unavailable_when_it_drops(asterisk):
    ari = asterisk.settings.ari
    rest = RestOverStream()
    stream = EventStream.from_settings(ari, rest=rest)
    task = asyncio.create_task(stream.run(lambda event: None))
    try:
        await eventually(lambda: rest.ready, what="requests over the websocket", seconds=10)
        # Taken off the wire before Asterisk answers: what a dropped connection looks like to a request.
        pending = asyncio.ensure_future(rest.request("GET", "asterisk/info", None, None))
        await asyncio.sleep(0)
        rest.detach("test")
        with pytest.raises(AriUnavailable, match="connection lost"):
            await pending
        assert not rest.ready
        with pytest.raises(AriUnavailable, match="not ready"):
            await rest.request("GET", "asterisk/info", None, None)
    finally:
        stream.stop()
        await asyncio.wait_for(task, 5)
