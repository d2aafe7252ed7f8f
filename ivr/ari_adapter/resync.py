"""After every (re)connect, make our view of live calls match Asterisk's.

While the websocket was down events were lost, so nothing is trusted:
- a call we know whose caller channel is gone has hung up;
- a call we know that is still up is told ``ServiceResumed`` (its flow takes
  the safe path: to a human);
- a caller in our Stasis app that we do not know (the service restarted) is
  adopted and taken the same safe path, its case found by channel id (after a
  moment: a caller who arrived as we connected has its StasisStart on the way);
- a channel of ours (an agency leg) whose call is gone is released;
- a bridged conversation is never cut: a caller in one of our bridges with
  one of our agency legs (the service restarted mid-conversation) is adopted
  as connected, under the call key its bridge and leg carry, so its case is
  closed and its recording filed when either side hangs up; any other
  bridged channel stays connected, untracked;
- one of our bridges that no caller is in any more (the caller hung up while
  the service was down) is removed, and the agency line left in it released.
A pass that cannot list the bridges moves no answered caller (a conversation
would look like a caller left in the IVR) and is repeated until one can. The
service runs it beside the event reader: new callers are not held up by it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ivr.ari import errors
from ivr.ari_adapter import ids
from ivr.calls import events as ev
from ivr.calls.base import AGENT_LEG
from ivr.calls.handover import retry_delay

log = logging.getLogger("siaga.resync")

# A caller found in the app that we do not know is adopted only after this long: the StasisStart of
# a caller who arrived just as we connected may still be on its way (events are read meanwhile).
SETTLE_SECONDS = 1.0


class Resync:
    def __init__(
        self,
        client,
        router,
        *,
        app: str,
        adopt: Callable[[dict], Awaitable[None]],
        adopt_connected: Callable[[dict, str, str], Awaitable[None]] | None = None,
        settle: float = SETTLE_SECONDS,
    ) -> None:
        self.client, self.router, self.app, self.adopt = client, router, app, adopt
        self.adopt_connected = adopt_connected  # (caller channel, call key, agency leg)
        self.settle = settle
        self.connects = 0
        self.alive: set[str] | None = None  # Asterisk's channel ids at the last run (None: not listed)

    def connected(self) -> dict:
        """At a (re)connect, before its first event: the calls known until now (only these may have missed events)."""
        self.connects += 1
        return dict(self.router.workers)

    async def run(self, known: dict | None = None) -> None:
        """Match Asterisk's calls; passes that could not list everything are repeated until one could.

        ``known``: ``connected()``'s calls. Calls that began after the connect have all their events.
        """
        generation = self.connects
        known = dict(self.router.workers) if known is None else known
        tries = 0
        while not await self._pass(known, generation):
            if generation != self.connects:
                return  # a newer connection runs its own
            tries += 1
            if self.alive is not None:
                known = {}  # told once, on the pass that could list the channels
            await asyncio.sleep(retry_delay(tries))

    async def _pass(self, known: dict, generation: int) -> bool:
        """One look at Asterisk; True when it could list everything. ``self.alive`` is None when not even the
        channels could be listed (then ``known`` calls were told nothing yet)."""
        try:
            channels = await self.client.list_channels()
        except Exception as exc:
            log.error("resync: cannot list channels (%s); trying again", exc)
            self.alive = None
            return False
        alive = {c["id"]: c for c in channels}
        self.alive = set(alive)
        try:
            bridges: list[dict] | None = await self.client.list_bridges()
        except Exception as exc:
            # Unknown is not empty: a caller talking to an agency would look like one left in the IVR.
            log.error("resync: cannot list bridges (%s); no answered caller is moved until they can be", exc)
            bridges = None
        for worker in known.values():
            if worker.caller not in alive:
                worker.post(ev.CallerHungUp())
            elif generation > 1:
                worker.post(ev.ServiceResumed())
        strangers = [c for c in channels if c["id"] not in self.router.by_channel and self._in_app(c)]
        if bridges is None:
            # Only callers not yet answered can be told apart from a conversation without the bridges.
            strangers = [c for c in strangers if c.get("state") != "Up" and ids.key_of(c["id"]) is None]
        taken = await self._take_in(strangers, bridges)
        for bridge in bridges or []:
            await self._release_if_left(bridge)
        if generation > 1 or self.router.workers:
            log.info(
                "resync #%d: %d calls live, %d channels in Asterisk",
                generation,
                len(self.router.workers),
                len(channels),
            )
        return bridges is not None and taken

    async def _take_in(self, strangers: list[dict], bridges: list[dict] | None) -> bool:
        """Channels in our app that no call of ours follows: conversations, orphan legs, callers left behind."""
        bridged = {cid: b for b in bridges or [] for cid in b.get("channels", [])}
        callers = []
        for channel in strangers:
            if channel["id"] in bridged:
                await self._bridged(channel, bridged[channel["id"]])
            elif ids.key_of(channel["id"]) is not None:
                await self._orphan_leg(channel)
            else:
                callers.append(channel)
        if not callers:
            return True
        await asyncio.sleep(self.settle)
        # Look again: a call whose StasisStart came after all may have run and ended during the settle
        # (gone, or handed to the dialplan): adopting it would reopen a closed case.
        try:
            still = {c["id"] for c in await self.client.list_channels() if self._in_app(c)}
        except Exception as exc:
            log.error("resync: cannot list channels again (%s); trying again", exc)
            return False
        for channel in callers:
            if channel["id"] in self.router.by_channel or channel["id"] not in still:
                continue  # its StasisStart came after all: a new call, running or already over
            log.warning("resync: adopting caller channel %s left in the app", channel["id"])
            await self.adopt(channel)
        return True

    async def _bridged(self, channel: dict, bridge: dict) -> None:
        """A caller talking to an agency: never cut it; follow it when it is one of our conversations."""
        found = self._our_conversation(channel["id"], bridge)
        if found and self.adopt_connected:
            key, leg = found
            if key not in self.router.workers:
                log.warning("resync: caller %s is talking on agency leg %s; adopted as connected", channel["id"], leg)
                await self.adopt_connected(channel, key, leg)
                await self._still_there(key, channel["id"], leg)
        elif ids.key_of(channel["id"]) is None:
            log.warning("resync: %s is bridged and stays connected (not tracked after restart)", channel["id"])

    async def _still_there(self, key: str, caller: str, leg: str) -> None:
        """An end that came between the bridge list and the adoption found no call to go to: look again."""
        worker = self.router.workers.get(key)
        if worker is None:
            return
        for channel_id, gone in (
            (ids.leg_channel_id(key, leg), ev.LegEnded(leg, 0, "gone during the resync")),
            (caller, ev.CallerHungUp()),
        ):
            try:
                await self.client.get_channel(channel_id)
            except errors.AriNotFound:
                worker.post(gone)
            except Exception as exc:  # ARI failing: its end will be found by a later resync or leftovers
                log.error("resync: cannot look at %s again (%s)", channel_id, exc)

    async def _orphan_leg(self, channel: dict) -> None:
        if ids.key_of(channel["id"]) in self.router.workers:
            return
        log.info("resync: releasing orphan leg %s", channel["id"])
        try:
            await self.client.hangup(channel["id"])
        except Exception:
            pass

    @staticmethod
    def _our_conversation(caller: str, bridge: dict) -> tuple[str, str] | None:
        """(call key, leg) when ``caller`` is in one of our call bridges with that call's agency leg."""
        key = ids.key_of(bridge.get("id"))
        if key is None or ids.key_of(caller) is not None:
            return None
        legs = [c for c in bridge.get("channels", []) if c != caller and ids.key_of(c) == key and ";" not in c]
        # A conference (caller, call-taker, unit): follow the unit's leg, so that the call-taker leaving it
        # (which the adopted call ignores) does not end the caller's conversation with the unit.
        legs.sort(key=lambda c: ids.suffix_of(c).startswith(AGENT_LEG))
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
