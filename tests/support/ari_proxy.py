"""A fault-injecting proxy in front of Asterisk's ARI, for end-to-end tests of failures.

Principle: the call service talks to a real Asterisk through this proxy, on
its own port, both ways ARI is used: plain HTTP requests and the events
websocket (which also carries ``RESTRequest`` messages, ``ivr/ari/rest_ws.py``).
A test adds rules while calls run: a request whose method and path match an
active rule is answered here with an error (or never answered), as an
overloaded or broken Asterisk would; an event a rule matches is changed before
the service sees it. Everything else passes through untouched. The proxy runs
its own event loop in a thread, so tests stay synchronous.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


@dataclass
class Rule:
    """Requests ``method`` ``path`` (a regex searched in the path, without /ari/) answered with ``status``.

    ``status=None``: never answered (the caller times out). ``hits`` counts the requests it caught.
    """

    method: str
    path: str
    status: int | None = 500
    active: bool = True
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.active and method.upper() == self.method and re.search(self.path, path) is not None


@dataclass
class EventRule:
    """Events for which ``match`` is true are replaced by ``change(event)`` (once each, ``times`` in all)."""

    match: Callable[[dict], bool]
    change: Callable[[dict], dict]
    times: int = 1
    done: int = 0
    seen: list[dict] = field(default_factory=list)


class AriProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream = f"127.0.0.1:{upstream_port}"
        self.port = _free_port()
        self.rules: list[Rule] = []
        self.event_rules: list[EventRule] = []
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._http: httpx.AsyncClient | None = None

    # -- the test's side --------------------------------------------------------
    def fail(self, method: str, path: str, status: int | None = 500) -> Rule:
        rule = Rule(method.upper(), path, status)
        with self._lock:
            self.rules.append(rule)
        return rule

    def change_event(self, match: Callable[[dict], bool], change: Callable[[dict], dict], times: int = 1) -> EventRule:
        rule = EventRule(match, change, times)
        with self._lock:
            self.event_rules.append(rule)
        return rule

    def start(self) -> AriProxy:
        app = Starlette(
            routes=[
                WebSocketRoute("/ari/events", self._events),
                Route("/{path:path}", self._forward, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", ws="websockets-sansio"
        )
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.run, name="ari-proxy", daemon=True)
        self._thread.start()
        deadline = threading.Event()
        for _ in range(100):
            if self._server.started:
                return self
            deadline.wait(0.05)
        raise RuntimeError("the ARI proxy did not start")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> AriProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inside the proxy -----------------------------------------------------------
    def _rule_for(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    return rule
        return None

    def _changed(self, event: dict) -> dict:
        with self._lock:
            for rule in self.event_rules:
                if rule.done < rule.times and rule.match(event):
                    rule.done += 1
                    rule.seen.append(event)
                    return rule.change(event)
        return event

    async def _forward(self, request: Request) -> Response:
        path = request.url.path.removeprefix("/ari/")
        rule = self._rule_for(request.method, path)
        if rule is not None:
            if rule.status is None:
                await asyncio.sleep(3600)  # never answered: the client's timeout decides
            return Response(
                json.dumps({"message": "injected by the test proxy"}), rule.status, media_type="application/json"
            )
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=30)
        upstream = await self._http.request(
            request.method,
            f"http://{self.upstream}{request.url.path}",
            params=request.query_params,
            content=await request.body(),
            headers={k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")},
        )
        headers = {k: v for k, v in upstream.headers.items() if k.lower() == "content-type"}
        return Response(upstream.content, upstream.status_code, headers=headers)

    async def _events(self, client: WebSocket) -> None:
        auth = client.headers.get("authorization", "")
        url = f"ws://{self.upstream}/ari/events?{client.url.query}"
        try:
            upstream = await websockets.connect(url, additional_headers={"Authorization": auth}, max_size=2**24)
        except Exception:
            await client.close(code=1011)
            return
        await client.accept()

        async def to_asterisk() -> None:
            while True:
                text = await client.receive_text()
                message = json.loads(text)
                if message.get("type") == "RESTRequest":
                    rule = self._rule_for(message.get("method", ""), message.get("uri", "").split("?")[0])
                    if rule is not None:
                        if rule.status is not None:
                            await client.send_text(json.dumps(_rest_response(message, rule.status)))
                        continue
                await upstream.send(text)

        async def from_asterisk() -> None:
            async for text in upstream:
                event = json.loads(text)
                await client.send_text(json.dumps(self._changed(event)))

        pumps = [asyncio.create_task(to_asterisk()), asyncio.create_task(from_asterisk())]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        except WebSocketDisconnect:
            pass
        finally:
            for pump in pumps:
                pump.cancel()
            await upstream.close()
            try:
                await client.close()
            except RuntimeError:  # closed already
                pass


def _rest_response(request: dict, status: int) -> dict:
    return {
        "type": "RESTResponse",
        "request_id": request.get("request_id"),
        "status_code": status,
        "reason_phrase": "Injected",
        "uri": request.get("uri"),
        "content_type": "application/json",
        "message_body": json.dumps({"message": "injected by the test proxy"}),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
