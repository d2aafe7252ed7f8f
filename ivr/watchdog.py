"""The watchdog: callers never wait in silence for a call service that is gone.

Principle: a separate, tiny process that trusts nothing but two facts — the
call service's health endpoint, and Asterisk's list of channels. While the
service is healthy it does nothing. Once the service has been unreachable or
disconnected from ARI for ``grace`` seconds, every caller still sitting in
our Stasis app (and not already talking to someone) is continued into the
dialplan fallback route, which rings humans. Agency legs left behind by the
dead service are released. A bridged conversation is never touched.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx

from app.asterisk import constants as k
from app.cases.callers import safe_caller_number
from ivr.ari import errors
from ivr.ari.client import AriClient
from ivr.ari_adapter import ids
from ivr.pause import stopped_within

log = logging.getLogger("siaga.watchdog")


class Watchdog:
    def __init__(self, client: AriClient, *, health_url: str, app: str, grace: float, poll: float) -> None:
        self.client, self.health_url, self.app = client, health_url, app
        self.grace, self.poll = grace, poll
        # Channels already sent on. A continue queued behind a prompt that is still playing
        # takes effect when the prompt ends (Stasis runs one command at a time), so it is
        # not repeated every poll.
        self._sent: dict[str, float] = {}
        self._http = httpx.AsyncClient(timeout=min(1.0, poll * 2))

    async def healthy(self) -> bool:
        try:
            response = await self._http.get(self.health_url)
            return response.status_code == 200 and response.json().get("status") == "ok"
        except (httpx.HTTPError, ValueError):
            return False

    async def run(self, stop: asyncio.Event) -> None:
        log.info("watching %s; callers go to the fallback route after %.1f s without it", self.health_url, self.grace)
        down_since: float | None = None
        while not stop.is_set():
            if await self.healthy():
                if down_since is not None:
                    log.info("call service healthy again")
                down_since = None
            else:
                now = time.monotonic()
                if down_since is None:
                    down_since = now
                    log.warning("call service not healthy; waiting %.1f s before taking over callers", self.grace)
                if now - down_since >= self.grace:
                    await self.rescue()
            await stopped_within(stop, self.poll)
        await self._http.aclose()

    async def rescue(self) -> int:
        """Send every unattended caller in the app to the fallback route; returns how many."""
        try:
            channels = await self.client.list_channels()
            bridged = {cid for b in await self.client.list_bridges() for cid in b.get("channels", [])}
        except errors.AriError as exc:
            log.debug("cannot list channels: %s", exc)  # Asterisk itself is down: nothing to rescue
            return 0
        moved = 0
        live = {c["id"] for c in channels}
        self._sent = {cid: at for cid, at in self._sent.items() if cid in live}
        for channel in channels:
            args = ids.stasis_args(channel, self.app)
            if args is None or channel["id"] in bridged or time.monotonic() - self._sent.get(channel["id"], -60.0) < 30:
                continue
            try:
                if ids.key_of(channel["id"]):
                    await self.client.hangup(channel["id"])  # an agency leg of a dead call
                    continue
                line = args[0] if args and args[0] in k.LINES else k.LINE_112
                # Asterisk runs a Stasis channel's commands one at a time, and a playing prompt is one:
                # the reason and the continue would wait for it to end (a district menu: ~10 s).
                await self._silence(channel["id"])
                await self.client.set_var(channel["id"], k.VAR_FALLBACK_REASON, "WATCHDOG")
                await self.client.continue_in_dialplan(channel["id"], k.CONTEXT_FALLBACK, line, 1)
            except (errors.AriNotFound, errors.AriConflict):
                continue  # gone, or already left the app
            self._sent[channel["id"]] = time.monotonic()
            moved += 1
            log.warning(
                "caller %s (%s, line %s) sent to the fallback route: the call service is down",
                channel["id"],
                safe_caller_number((channel.get("caller") or {}).get("number")),  # a stranger's text
                line,
            )
        return moved

    async def _silence(self, channel_id: str) -> None:
        """Stop whatever the dead service was playing to the caller (its ids follow from the channel)."""

        async def stop(playback: str) -> None:
            try:
                await self.client.stop_playback(playback)
            except errors.AriError:  # not playing (almost all of them): nothing to stop
                pass

        await asyncio.gather(*(stop(p) for p in ids.prompt_playbacks(ids.key_for_channel(channel_id))))
