"""Raw ARI event (a dict) -> typed call event, for one call.

A caller's hang-up shows as StasisEnd: once a channel leaves the app, Asterisk
sends no ChannelDestroyed for it unless the app subscribed to it explicitly
(which we do when we hand a caller to the dialplan fallback, so that we still
learn when that call ends). StasisEnd alone is therefore ``CallerLeftApp``;
the flow knows whether it sent the caller away itself.
A Local channel's ``;2`` half (the demo responder) runs in the dialplan and
is not ours to follow.
"""

from __future__ import annotations

from ivr.ari_adapter import ids
from ivr.calls import events as ev

# Every ARI event type ``translate`` (and the router) reads: the service asks Asterisk for these only.
EVENT_TYPES = frozenset(
    {"StasisStart", "StasisEnd", "ChannelDtmfReceived", "PlaybackFinished", "ChannelDestroyed", "ChannelStateChange"}
)


def translate(raw: dict, key: str, caller_channel: str) -> object | None:
    kind = raw.get("type")
    channel = (raw.get("channel") or {}).get("id")
    if kind == "ChannelDtmfReceived" and channel == caller_channel:
        return ev.DigitPressed(str(raw.get("digit", "")))
    if kind == "PlaybackFinished":
        pid = (raw.get("playback") or {}).get("id", "")
        prefix = ids.playback_id(key, "")
        if pid.startswith(prefix):
            return ev.PromptFinished(pid[len(prefix) :])
        return None
    if channel == caller_channel:
        if kind == "ChannelDestroyed":
            return ev.CallerHungUp()
        if kind == "StasisEnd":
            return ev.CallerLeftApp()
        return None
    if channel and ids.key_of(channel) == key and ";" not in channel:
        leg = ids.suffix_of(channel)
        if kind == "StasisStart":
            return ev.LegAnswered(leg)
        if kind == "ChannelStateChange" and (raw.get("channel") or {}).get("state") == "Ringing":
            return ev.LegRinging(leg)
        if kind == "ChannelDestroyed":
            return ev.LegEnded(leg, int(raw.get("cause") or 0), str(raw.get("cause_txt") or ""))
    return None
