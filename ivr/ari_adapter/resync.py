"""After every (re)connect, make our view of live calls match Asterisk's.

While the websocket was down events were lost, so nothing is trusted:
- a call we know whose caller channel is gone has hung up;
- a call we know that is still up is told ``ServiceResumed`` (its flow takes
  the safe path: to a human);
- a caller in our Stasis app that we do not know (the service restarted) is
  adopted and taken the same safe path, its case found by channel id;
- a channel of ours (an agency leg) whose call is gone is released;
- a bridged conversation is never cut: it stays connected (untracked).
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

from ivr.ari_adapter import ids
from ivr.calls import events as ev

log = logging.getLogger("siaga.resync")


class Resync:
    def __init__(self, client, router, *, app: str, adopt: Callable[[dict], Awaitable[None]]) -> None:
        self.client, self.router, self.app, self.adopt = client, router, app, adopt
        self.connects = 0

    async def run(self) -> None:
        self.connects += 1
        try:
            channels = await self.client.list_channels()
        except Exception as exc:
            log.error("resync: cannot list channels: %s", exc)
            return
        alive = {c["id"]: c for c in channels}
        try:
            bridged = {cid for b in await self.client.list_bridges() for cid in b.get("channels", [])}
        except Exception:
            bridged = set()
        for key, worker in list(self.router.workers.items()):
            if worker.caller not in alive:
                worker.post(ev.CallerHungUp())
            elif self.connects > 1:
                worker.post(ev.ServiceResumed())
        known = set(self.router.by_channel)
        for channel in channels:
            if channel["id"] in known or not self._in_app(channel):
                continue
            if channel["id"] in bridged:
                # A caller talking to an agency: never cut it. It is left connected, untracked.
                log.warning("resync: %s is bridged and stays connected (not tracked after restart)", channel["id"])
                continue
            key = ids.key_of(channel["id"])
            if key is not None:
                if key not in self.router.workers:
                    log.info("resync: releasing orphan leg %s", channel["id"])
                    try:
                        await self.client.hangup(channel["id"])
                    except Exception:
                        pass
                continue
            log.warning("resync: adopting caller channel %s left in the app", channel["id"])
            await self.adopt(channel)
        if self.connects > 1 or self.router.workers:
            log.info("resync #%d: %d calls live, %d channels in Asterisk", self.connects, len(self.router.workers), len(channels))

    def _in_app(self, channel: dict) -> bool:
        return ids.stasis_args(channel, self.app) is not None
