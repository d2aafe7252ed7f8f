"""Our resource ids: ``sg<key>-<suffix>``; the call key is recoverable from the id alone."""

from __future__ import annotations

import hashlib
import uuid

from ivr.calls.connecting import CONNECTING
from ivr.calls.queueing import HOLD_TOKENS

PREFIX = "sg"
# The IVR's prompt tokens the watchdog tries (p1, p2 ...): a call's tokens count up through its
# prompts and silence timers, about a dozen at most before a caller is put through.
MAX_PROMPT_TOKEN = 40


def new_key() -> str:
    return uuid.uuid4().hex[:16]


def key_for_channel(channel_id: str) -> str:
    """The key of a new call, from its caller channel: anyone who knows the channel can name our resources."""
    return hashlib.blake2b(channel_id.encode(), digest_size=8).hexdigest()


def prompt_playbacks(key: str) -> list[str]:
    """Every playback id a call of ``key`` may have playing to its caller (prompts, connecting, ringback)."""
    return [playback_id(key, f"p{n}") for n in range(1, MAX_PROMPT_TOKEN + 1)] + [
        playback_id(key, CONNECTING),
        *(playback_id(key, token) for token in HOLD_TOKENS),
        ringback_id(key),
    ]


def rid(key: str, suffix: str) -> str:
    return f"{PREFIX}{key}-{suffix}"


def key_of(resource_id: str | None) -> str | None:
    if not resource_id or not resource_id.startswith(PREFIX) or "-" not in resource_id:
        return None
    return resource_id[len(PREFIX) :].split("-", 1)[0] or None


def suffix_of(resource_id: str) -> str:
    return resource_id.split("-", 1)[1] if "-" in resource_id else ""


def playback_id(key: str, token: str) -> str:
    return rid(key, f"pb-{token}")


def leg_channel_id(key: str, leg: str) -> str:
    return rid(key, leg)


def bridge_id(key: str) -> str:
    return rid(key, "br")


def ringback_id(key: str) -> str:
    return rid(key, "ring")


def stasis_args(channel: dict, app: str) -> list[str] | None:
    """The Stasis arguments of a channel (ARI JSON) sitting in our app ``app``, else None."""
    dialplan = channel.get("dialplan") or {}
    if dialplan.get("app_name") != "Stasis":
        return None
    args = str(dialplan.get("app_data", "")).split(",")
    return args[1:] if args[0] == app else None
