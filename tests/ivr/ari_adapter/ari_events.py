"""Raw ARI events shaped as Asterisk 22 sends them (rest-api/events.json, channels.json)."""

from __future__ import annotations

from ivr.ari_adapter import ids

APP = "siaga"
CALLER = "1764215000.17"  # Asterisk's own ids for channels it creates


def channel(cid: str, *, state: str = "Up", name: str = "PJSIP/caller-00000011", number: str = "081234567890") -> dict:
    return {
        "id": cid,
        "name": name,
        "state": state,
        "protocol_id": "3c2a7f1e-4b1d@127.0.0.1",
        "caller": {"name": "", "number": number},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "dialplan": {
            "context": "siaga-in",
            "exten": "112",
            "priority": 3,
            "app_name": "Stasis",
            "app_data": f"{APP},112",
        },
        "creationtime": "2025-11-27T10:00:00.000+0800",
        "language": "en",
    }


def leg_channel(key: str, leg: str, *, half: str = "", state: str = "Down") -> dict:
    """An agency leg we originated; ``half=";2"`` is the dialplan side of a Local channel."""
    name = f"Local/psc-kuta@siaga-demo-00000001{half or ';1'}"
    return channel(ids.leg_channel_id(key, leg) + half, state=state, name=name)


def event(kind: str, **fields) -> dict:
    return {
        "type": kind,
        "timestamp": "2025-11-27T10:00:01.250+0800",
        "application": APP,
        "asterisk_id": "02:42:ac:11:00:02",
        **fields,
    }


def stasis_start(chan: dict, *args: str) -> dict:
    return event("StasisStart", args=list(args), channel=chan)


def dtmf(chan: dict, digit: str) -> dict:
    return event("ChannelDtmfReceived", digit=digit, duration_ms=120, channel=chan)


def playback_finished(playback_id: str, target: str = CALLER) -> dict:
    return event(
        "PlaybackFinished",
        playback={
            "id": playback_id,
            "media_uri": "sound:siaga/id/112-category",
            "target_uri": f"channel:{target}",
            "language": "en",
            "state": "done",
        },
    )


def state_change(chan: dict, state: str) -> dict:
    return event("ChannelStateChange", channel={**chan, "state": state})


def destroyed(chan: dict, cause: int = 16, cause_txt: str = "Normal Clearing") -> dict:
    return event("ChannelDestroyed", cause=cause, cause_txt=cause_txt, channel=chan)


def stasis_end(chan: dict) -> dict:
    return event("StasisEnd", channel=chan)
