"""After every (re)connect, make our view of live calls match Asterisk's.

While the websocket was down events were lost, so nothing is trusted:
- a call we know whose caller channel is gone has hung up;
- a call we know that is still up is told ``ServiceResumed`` (its flow takes
  the safe path: to a human);
- a caller in our Stasis app that we do not know (the service restarted) is
  adopted and taken the same safe path, its case found by channel id;
- a channel of ours (an agency leg) whose call is gone is released;
- a bridged conversation is never cut: a caller in one of our bridges with
  one of our agency legs (the service restarted mid-conversation) is adopted
  as connected, under the call key its bridge and leg carry, so its case is
  closed and its recording filed when either side hangs up; any other
  bridged channel stays connected, untracked;
- one of our bridges that no caller is in any more (the caller hung up while
  the service was down) is removed, and the agency line left in it released.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from ivr.ari_adapter import ids
from ivr.calls import events as ev

log = logging.getLogger("siaga.resync")


class Resync:
    def __init__(
        self,
        client,
        router,
        *,
        app: str,
        adopt: Callable[[dict], Awaitable[None]],
        adopt_connected: Callable[[dict, str, str], Awaitable[None]] | None = None,
    ) -> None:
        self.client, self.router, self.app, self.adopt = client, router, app, adopt
        self.adopt_connected = adopt_connected  # (caller channel, call key, agency leg)
        self.connects = 0
        self.alive: set[str] | None = None  # Asterisk's channel ids at the last run (None: not listed)

    async def run(self) -> None:
        self.connects += 1
        try:
            channels = await self.client.list_channels()
        except Exception as exc:
            log.error("resync: cannot list channels: %s", exc)
            self.alive = None
            return
        alive = {c["id"]: c for c in channels}
        self.alive = set(alive)
        try:
            bridges = await self.client.list_bridges()
        except Exception:
            bridges = []
        bridged = {cid: b for b in bridges for cid in b.get("channels", [])}
        for worker in list(self.router.workers.values()):
            if worker.caller not in alive:
                worker.post(ev.CallerHungUp())
            elif self.connects > 1:
                worker.post(ev.ServiceResumed())
        known = set(self.router.by_channel)
        for channel in channels:
            if channel["id"] in known or not self._in_app(channel):
                continue
            if channel["id"] in bridged:
                # A caller talking to an agency: never cut it.
                found = self._our_conversation(channel["id"], bridged[channel["id"]])
                if found and self.adopt_connected:
                    key, leg = found
                    if key not in self.router.workers:
                        log.warning(
                            "resync: caller %s is talking on agency leg %s; adopted as connected", channel["id"], leg
                        )
                        await self.adopt_connected(channel, key, leg)
                elif ids.key_of(channel["id"]) is None:
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
        for bridge in bridges:
            await self._release_if_left(bridge)
        if self.connects > 1 or self.router.workers:
            log.info(
                "resync #%d: %d calls live, %d channels in Asterisk",
                self.connects,
                len(self.router.workers),
                len(channels),
            )

    @staticmethod
    def _our_conversation(caller: str, bridge: dict) -> tuple[str, str] | None:
        """(call key, leg) when ``caller`` is in one of our call bridges with that call's agency leg."""
        key = ids.key_of(bridge.get("id"))
        if key is None or ids.key_of(caller) is not None:
            return None
        legs = [c for c in bridge.get("channels", []) if c != caller and ids.key_of(c) == key and ";" not in c]
        return (key, ids.suffix_of(legs[0])) if legs else None

    async def _release_if_left(self, bridge: dict) -> None:
        """One of our call bridges with no caller and no call of ours (the caller hung up while the service
        was down): hang up the agency line left in it, and remove it."""
        key = ids.key_of(bridge.get("id"))
        members = bridge.get("channels", [])
        if key is None or key in self.router.workers or any(ids.key_of(c) is None for c in members):
            return
        log.info(
            "resync: releasing bridge %s of a call that ended (%d channels left in it)", bridge["id"], len(members)
        )
        for member in members:
            try:
                await self.client.hangup(member)
            except Exception:  # gone meanwhile
                pass
        try:
            await self.client.destroy_bridge(bridge["id"])
        except Exception:
            pass

    def _in_app(self, channel: dict) -> bool:
        return ids.stasis_args(channel, self.app) is not None
