"""A passive ARI observer: a second Stasis app name with ``subscribeAll=true``.

Principle: it only listens. It owns no channel (no call ever enters its app),
asks Asterisk to send it just the event types the latency figures need
(``eventFilter``), and keeps each event's Asterisk ``timestamp`` and ids, so
the measured service is not changed and the clock is Asterisk's own. It runs
its asyncio loop in a thread of its own, beside the synchronous bench.
"""

from __future__ import annotations

import asyncio
import threading

import httpx

from ivr.ari.stream import EventStream

APP = "siaga-bench-observer"
TYPES = ("ChannelDtmfReceived", "PlaybackStarted", "Dial", "ChannelDialplan")


def slim(event: dict) -> dict:
    """The few fields the analysis reads; the rest is dropped at once to keep memory flat."""
    out = {"type": event.get("type"), "timestamp": event.get("timestamp")}
    for key in ("channel", "peer", "caller"):
        if event.get(key):
            out[key] = {"id": event[key].get("id"), "name": event[key].get("name")}
    for key in ("digit", "dialstatus", "dialplan_app"):
        if key in event:
            out[key] = event[key]
    if event.get("playback"):
        out["playback"] = {k: event["playback"].get(k) for k in ("id", "target_uri", "media_uri")}
    return out


class Observer:
    def __init__(self, ari_port: int, password: str, user: str = "siaga") -> None:
        self.base = f"http://127.0.0.1:{ari_port}/ari"
        self.auth = (user, password)
        self.events: list[dict] = []
        self._stream = EventStream(self.base, user, password, APP, subscribe_all=True)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="ari-observer", daemon=True)
        self._connected = threading.Event()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._stream.run(lambda e: self.events.append(slim(e)), self._filter))

    async def _filter(self) -> None:
        async with httpx.AsyncClient(auth=self.auth, timeout=10) as http:
            body = {"allowed": [{"type": t} for t in TYPES]}
            (await http.put(f"{self.base}/applications/{APP}/eventFilter", json=body)).raise_for_status()
        self._connected.set()

    def __enter__(self) -> Observer:
        self._thread.start()
        if not self._connected.wait(15):
            self.stop()
            raise RuntimeError("the ARI observer could not connect")
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stream.stop)
            self._thread.join(10)
