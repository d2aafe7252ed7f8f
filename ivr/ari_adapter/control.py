"""CallControl over ARI, for one call.

Asterisk quirks handled here:
- The caller's call is already answered (the IVR ran), so a 180 cannot be
  sent any more: ringback while agency lines ring is a ``tone:ring`` playback.
- Recording: the dialplan records every call from its arrival (MixMonitor on
  the caller's channel). That costs Asterisk far less than recording the
  bridge (a recorder in it turns a two-party bridge into a mixing one: 44
  against 20 ms of Asterisk CPU a call, bench/), and it keeps the IVR part
  and a fallback conversation too. The file is complete once MixMonitor
  closes it, after the caller's channel has gone (``recordings.py`` takes it).
- The demo responder is a Local channel; its ``;1`` half is ours (our id) and
  enters Stasis only when the ``;2`` half has run ``Answer()``.
"""

from __future__ import annotations

import logging

from app.asterisk import constants as k
from ivr.ari import errors
from ivr.ari.client import AriClient
from ivr.ari_adapter import ids
from ivr.ari_adapter.recordings import AriSpool, Keep, Spool, take_call_recording
from ivr.calls.port import CallerGone

log = logging.getLogger("siaga.ari")

LEG_APP_ARG = "leg"  # Stasis args of an agency leg; callers carry their line number


class AriCallControl:
    def __init__(
        self, client: AriClient, *, app: str, key: str, caller_channel: str, demo: bool, recordings: Spool | None = None
    ) -> None:
        self.client, self.app, self.key, self.caller = client, app, key, caller_channel
        self.demo = demo
        self.recordings = recordings or AriSpool(client)  # where MixMonitor's file is taken from

    async def answer(self) -> None:
        await self.client.answer(self.caller)

    async def play(self, prompt: str, language: str, token: str) -> None:
        media = f"sound:{k.sound(prompt, language)}"
        await self.client.play(self.caller, ids.playback_id(self.key, token), media)

    async def stop_playback(self, token: str) -> None:
        await _ignore_gone(self.client.stop_playback(ids.playback_id(self.key, token)))

    async def start_ringback(self) -> None:
        await _ignore_gone(self.client.play(self.caller, ids.ringback_id(self.key), "tone:ring"))

    async def stop_ringback(self) -> None:
        await _ignore_gone(self.client.stop_playback(ids.ringback_id(self.key)))

    async def dial(self, leg: str, dial: str, timeout: int, caller_id: str) -> None:
        await self.dial_agent(leg, await self._reachable(dial), timeout, caller_id)

    async def dial_agent(self, leg: str, dial: str, timeout: int, caller_id: str) -> None:
        """Originate ``dial`` as it is (a call-taker's phone is never replaced by the demo responder)."""
        await self.client.originate(
            dial,
            channel_id=ids.leg_channel_id(self.key, leg),
            app=self.app,
            app_args=LEG_APP_ARG,
            caller_id=caller_id,
            timeout=timeout,
            # The caller's formats (and linkedid): without an originator ARI offers every audio
            # format, and a Local/ line then runs at slin192, resampling each frame (bench/).
            originator=self.caller,
        )

    async def gone(self, legs: list[str]) -> set[str]:
        out = set()
        for leg in legs:
            try:
                await self.client.get_channel(ids.leg_channel_id(self.key, leg))
            except errors.AriNotFound:
                out.add(leg)
            except errors.AriError:
                pass  # cannot say: taken as there
        return out

    async def join(self, leg: str) -> None:
        await self.client.add_to_bridge(ids.bridge_id(self.key), [ids.leg_channel_id(self.key, leg)])

    async def _reachable(self, dial: str) -> str:
        """In the demo profile a unit line that no phone has registered is answered by the demo responder."""
        tech, _, resource = dial.partition("/")
        if not self.demo or tech.upper() != "PJSIP" or "@" in resource:
            return dial
        try:
            state = (await self.client.get_endpoint("PJSIP", resource)).get("state")
        except errors.AriError:
            state = "unknown"
        if state == "online":
            return dial
        name = k.DEMO_FALLBACK_EXTEN if resource.startswith(k.OPERATOR_PREFIX) else resource
        return f"Local/{name}@{k.CONTEXT_DEMO_RESPONDER}"

    async def hangup_leg(self, leg: str) -> None:
        await _ignore_gone(self.client.hangup(ids.leg_channel_id(self.key, leg)))

    async def connect(self, leg: str) -> None:
        bridge = ids.bridge_id(self.key)
        await self.client.create_bridge(bridge, type="mixing")
        await self.client.add_to_bridge(bridge, [self.caller, ids.leg_channel_id(self.key, leg)])

    async def save_recording(self, keep: Keep) -> bytes | None:
        await _ignore_gone(self.client.destroy_bridge(ids.bridge_id(self.key)))
        return await take_call_recording(self.recordings, self.caller, keep=keep)

    async def in_fallback_route(self) -> bool:
        try:
            channel = await self.client.get_channel(self.caller)
            if channel.get("dialplan", {}).get("context") != k.CONTEXT_FALLBACK:
                return False  # e.g. still being hung up: the StasisEnd of a hang-up
            await self.client.subscribe(self.app, f"channel:{self.caller}")  # to learn when that call ends
        except errors.AriNotFound:
            return False
        return True

    async def to_fallback(self, line: str) -> None:
        # Stay subscribed to the caller after it leaves Stasis, to learn when the call ends.
        try:
            await self.client.subscribe(self.app, f"channel:{self.caller}")
        except (errors.AriNotFound, errors.AriBadRequest) as exc:
            raise CallerGone(str(exc)) from exc
        except errors.AriError as exc:
            if exc.status == 422:  # "Event source does not exist": the channel is gone
                raise CallerGone(str(exc)) from exc
            raise
        try:
            await self.client.continue_in_dialplan(self.caller, k.CONTEXT_FALLBACK, line, 1)
        except errors.AriNotFound as exc:
            raise CallerGone(str(exc)) from exc
        except errors.AriConflict:
            pass  # no longer in our app: the watchdog already sent it on

    async def hangup_caller(self) -> None:
        await _ignore_gone(self.client.hangup(self.caller))


async def _ignore_gone(coro) -> None:
    """Stopping or hanging up something that has already ended is not an error."""
    try:
        await coro
    except (errors.AriNotFound, errors.AriConflict):
        pass
