"""EventStream against a local websockets server standing in for Asterisk's /ari/events.

Unit tests of the protocol handling: order, auth, reconnects, backoff, stop.
The same stream against a real Asterisk is in test_live.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import socket
from http import HTTPStatus

import pytest
from websockets.asyncio.server import serve

from ivr.ari import EventStream
from tests.support.waiting import eventually

APP = "siaga-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeAri:
    """Accepts ``siaga:pw`` only; each session runs the next behaviour (the last one repeats)."""

    def __init__(self, *behaviours, password: str = "pw") -> None:
        self.behaviours = list(behaviours) or [hold_open]
        self.expected_auth = "Basic " + base64.b64encode(f"siaga:{password}".encode()).decode()
        self.requests = []
        self.sessions = 0
        self.server = None
        self.port = None

    async def start(self, port: int = 0) -> FakeAri:
        self.server = await serve(self._session, "127.0.0.1", port, process_request=self._check)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def _check(self, connection, request):
        self.requests.append(request)
        if request.headers.get("Authorization") != self.expected_auth:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
        return None

    async def _session(self, ws) -> None:
        behaviour = self.behaviours[min(self.sessions, len(self.behaviours) - 1)]
        self.sessions += 1
        await behaviour(ws)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def hold_open(ws) -> None:
    await ws.wait_closed()


def send_then_hold(*messages):
    async def behaviour(ws):
        for message in messages:
            await ws.send(message if isinstance(message, str) else json.dumps(message))
        await ws.wait_closed()

    return behaviour


def stream_for(port: int, password: str = "pw", **kwargs) -> EventStream:
    return EventStream(f"http://127.0.0.1:{port}/ari", "siaga", password, APP, **kwargs)


@pytest.fixture
async def running():
    """Start streams as tasks; stop them and check ``run`` returned at teardown."""
    started = []

    def start(stream: EventStream, on_event=None, on_connected=None) -> asyncio.Task:
        task = asyncio.create_task(stream.run(on_event or (lambda event: None), on_connected))
        started.append((stream, task))
        return task

    yield start
    for stream, task in started:
        stream.stop()
        await asyncio.wait_for(task, 3)


@pytest.fixture
async def servers():
    made = []
    yield made
    for server in made:
        await server.close()


async def test_events_reach_the_handler_in_order_after_on_connected(running, servers):
    server = await FakeAri(send_then_hold(*({"type": "Tick", "seq": i} for i in range(300)))).start()
    servers.append(server)
    seen = []

    async def on_event(event):
        if event["seq"] % 7 == 0:
            await asyncio.sleep(0)  # a handler that yields must not let later events overtake
        seen.append(event["seq"])

    stream = stream_for(server.port)
    running(stream, on_event, on_connected=lambda: seen.append("connected"))
    await eventually(lambda: len(seen) == 301, what="300 events")

    assert seen == ["connected", *range(300)]
    assert stream.events == 300
    assert stream.state == "connected" and stream.connected.is_set()


async def test_sends_basic_auth_and_the_app_in_the_query(running, servers):
    server = await FakeAri().start()
    servers.append(server)

    stream = stream_for(server.port, subscribe_all=True)
    running(stream)
    await asyncio.wait_for(stream.connected.wait(), 5)

    request = server.requests[0]
    assert request.path == f"/ari/events?app={APP}&subscribeAll=true"
    assert request.headers["Authorization"] == server.expected_auth


async def test_reconnects_after_the_server_drops_and_calls_on_connected_again(running, servers, caplog):
    caplog.set_level(logging.INFO, logger="ivr.ari.stream")

    async def drop_abruptly(ws):
        await ws.send(json.dumps({"type": "First"}))
        await asyncio.sleep(0.05)
        ws.transport.abort()

    server = await FakeAri(drop_abruptly, send_then_hold({"type": "Second"})).start()
    servers.append(server)
    events, connects = [], []
    stream = stream_for(server.port)
    running(stream, lambda event: events.append(event["type"]), lambda: connects.append(stream.connects))
    await eventually(lambda: events == ["First", "Second"], what="an event from each connection")

    assert connects == [1, 2]
    assert stream.reconnects == 1 and stream.disconnects == 1
    assert any(
        re.fullmatch(
            rf"ARI events connection to 127\.0\.0\.1:{server.port} lost \(.+\); retrying in 0\.1 s", r.getMessage()
        )
        for r in caplog.records
    )


async def test_refused_port_logs_a_readable_line_and_retries_until_asterisk_appears(running, servers, caplog):
    caplog.set_level(logging.INFO, logger="ivr.ari.stream")
    port = free_port()
    stream = stream_for(port, max_backoff=0.3)
    running(stream)
    await eventually(lambda: stream.failed_attempts >= 3, what="three refused attempts")

    assert stream.state in {"connecting", "backoff"} and not stream.connected.is_set()
    lines = [r.getMessage() for r in caplog.records]
    assert re.fullmatch(
        rf"ARI not reachable at 127\.0\.0\.1:{port} \(connection refused\); retrying in 0\.1 s", lines[0]
    )
    assert caplog.records[0].levelno == logging.WARNING
    assert all(r.levelno == logging.INFO for r in caplog.records[1:3])  # same reason again: no new warning

    servers.append(await FakeAri().start(port))
    await asyncio.wait_for(stream.connected.wait(), 5)
    assert stream.connects == 1


async def test_backoff_grows_and_is_capped(running, caplog):
    caplog.set_level(logging.INFO, logger="ivr.ari.stream")
    stream = stream_for(free_port(), max_backoff=0.4)
    running(stream)
    await eventually(lambda: stream.failed_attempts >= 6, what="six refused attempts")

    delays = [float(m.group(1)) for r in caplog.records if (m := re.search(r"retrying in ([\d.]+) s$", r.getMessage()))]
    assert delays[:3] == sorted(delays[:3]) and delays[0] < delays[2]
    assert max(delays) <= 0.4
    assert min(delays[3:6]) >= 0.3  # stays at the cap (less at most a fifth of jitter)


async def test_backoff_starts_over_after_a_connection_that_stayed_up(running, servers):
    port = free_port()

    async def stay_then_close(ws):
        await asyncio.sleep(0.4)
        await ws.close()

    stream = stream_for(port, max_backoff=2.0, stable_after=0.3)
    running(stream)
    await eventually(lambda: stream.failed_attempts >= 3, what="refused attempts")
    assert stream.last_delay > 0.3
    servers.append(await FakeAri(stay_then_close, hold_open).start(port))

    await eventually(lambda: stream.connects == 2, seconds=8, what="the reconnect")
    assert stream.last_delay <= 0.1
    assert stream.last_error == f"ARI events connection to 127.0.0.1:{port} lost (closed by Asterisk, code 1000)"


async def test_wrong_password_is_named_as_such_and_retried(running, servers, caplog):
    caplog.set_level(logging.INFO, logger="ivr.ari.stream")
    server = await FakeAri().start()
    servers.append(server)
    stream = stream_for(server.port, password="wrong", max_backoff=0.2)
    running(stream)
    await eventually(lambda: stream.failed_attempts >= 2, what="two refused upgrades")

    line = caplog.records[0].getMessage()
    assert "refused user 'siaga' (HTTP 401)" in line and "password" in line
    assert stream.connects == 0


async def test_malformed_messages_are_skipped_not_fatal(running, servers, caplog):
    server = await FakeAri(send_then_hold("not json {", "[1, 2]", {"type": "Good"})).start()
    servers.append(server)
    seen = []
    stream = stream_for(server.port)
    running(stream, seen.append)
    await eventually(lambda: seen, what="the good event")

    assert seen == [{"type": "Good"}]
    assert stream.malformed == 2 and stream.connects == 1
    assert sum("malformed event" in r.getMessage() for r in caplog.records) == 2


async def test_a_failing_handler_does_not_end_the_stream(running, servers):
    server = await FakeAri(send_then_hold({"type": "Boom"}, {"type": "After"})).start()
    servers.append(server)
    seen = []

    def on_event(event):
        seen.append(event["type"])
        if event["type"] == "Boom":
            raise RuntimeError("router bug")

    stream = stream_for(server.port)
    running(stream, on_event)
    await eventually(lambda: seen == ["Boom", "After"], what="the event after the failure")
    assert stream.connects == 1


async def test_a_silent_asterisk_is_noticed_by_keepalive(running, servers):
    released = asyncio.Event()

    async def go_silent(ws):
        ws.transport.pause_reading()  # pings are never read, so never answered
        await released.wait()
        ws.transport.abort()

    server = await FakeAri(go_silent, hold_open).start()
    servers.append(server)
    stream = stream_for(server.port, ping_interval=0.2, ping_timeout=0.3)
    running(stream)
    try:
        await eventually(lambda: stream.connects == 2, seconds=4, what="keepalive to drop and reconnect")
        assert "ping timeout" in stream.last_error
    finally:
        released.set()


async def test_stop_ends_run_promptly_while_connected(running, servers):
    server = await FakeAri().start()
    servers.append(server)
    stream = stream_for(server.port)
    task = running(stream)
    await asyncio.wait_for(stream.connected.wait(), 5)

    stream.stop()
    await asyncio.wait_for(task, 1.5)
    assert stream.state == "stopped" and not stream.connected.is_set()


async def test_stop_ends_run_promptly_during_backoff(running):
    stream = stream_for(free_port(), initial_backoff=30, max_backoff=30)
    task = running(stream)
    await eventually(lambda: stream.state == "backoff", what="backoff")

    stream.stop()
    await asyncio.wait_for(task, 0.5)
    assert stream.state == "stopped"


async def test_stop_ends_run_promptly_while_a_handshake_hangs():
    accepted = asyncio.Event()

    async def never_answer(reader, writer):
        accepted.set()
        await reader.read()  # a host that takes the connection and says nothing

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    try:
        stream = stream_for(silent.sockets[0].getsockname()[1], open_timeout=30)
        task = asyncio.create_task(stream.run(lambda event: None))
        await asyncio.wait_for(accepted.wait(), 5)
        assert stream.state == "connecting"

        stream.stop()
        await asyncio.wait_for(task, 0.5)
    finally:
        silent.close()


async def test_a_failing_on_connected_does_not_cut_the_stream(running, servers, caplog):
    server = await FakeAri(send_then_hold({"type": "StasisStart"})).start()
    servers.append(server)
    seen = []

    async def rebuild():
        raise RuntimeError("state rebuild failed")

    stream = stream_for(server.port)
    running(stream, seen.append, rebuild)
    await eventually(lambda: seen, what="the event after a failed rebuild")

    assert seen == [{"type": "StasisStart"}] and stream.connects == 1
    assert any("on_connected failed" in r.getMessage() for r in caplog.records)
