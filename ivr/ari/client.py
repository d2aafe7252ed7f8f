"""``AriClient``: Asterisk's REST interface over one pooled ``httpx.AsyncClient``.

Principle: one HTTP client per process, built by the composition root; every
helper is one row of ``operations.OPERATIONS`` plus its query parameters, and
ids (channel, playback, bridge) are chosen by the caller, so an event that
arrives before the HTTP answer can already be matched to what we asked for.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from ivr.ari.errors import AriUnavailable, error_for
from ivr.ari.operations import OPERATIONS
from ivr.ari.rest_ws import RestOverStream

log = logging.getLogger(__name__)

# Asterisk's HTTP server caps open sessions (http.conf ``sessionlimit``, default
# 100) and the events websocket takes one; staying below it makes a burst queue
# in our pool instead of being refused by Asterisk. Short requests over kept-alive
# connections serve hundreds of concurrent calls with this many. Not more: httpcore
# checks every pooled connection (two syscalls each) on every request, which at 64
# connections cost a fifth of the event loop under load (bench/, docs/PERFORMANCE.md).
MAX_CONNECTIONS = 16
# Asterisk closes idle HTTP connections after 15 s (``session_keep_alive``);
# dropping ours first avoids reusing a socket it is closing.
KEEPALIVE_EXPIRY = 10.0


class AriClient:
    def __init__(
        self,
        base_url: str,
        user: str,
        password: str | SecretStr,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = MAX_CONNECTIONS,
        rest: RestOverStream | None = None,
    ) -> None:
        self.rest = rest  # when it is ready, JSON requests go over the events websocket instead
        secret = password.get_secret_value() if isinstance(password, SecretStr) else password
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            auth=httpx.BasicAuth(user, secret),
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=KEEPALIVE_EXPIRY,
            ),
            transport=transport,
            trust_env=False,  # a proxy from the environment has no business between us and our PBX
        )

    @classmethod
    def from_settings(cls, ari, **kwargs: Any) -> AriClient:
        """From ``app.settings.AriSettings``."""
        return cls(ari.base_url, ari.user, ari.password or "", **kwargs)

    async def __aenter__(self) -> AriClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- transport ---------------------------------------------------------

    async def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> Any:
        """Send one request; the parsed JSON answer, or None when Asterisk sent no body."""
        if self.rest is not None and self.rest.ready:
            return await self.rest.request(method, path, params, json)
        response = await self._send(method, path, params, json)
        if not response.content:
            return None
        return response.json()

    async def _send(self, method: str, path: str, params: dict | None, json: Any) -> httpx.Response:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._http.request(method, path.lstrip("/"), params=query, json=json)
        except httpx.TransportError as exc:
            where = f"{self._http.base_url.host}:{self._http.base_url.port}"
            raise AriUnavailable(0, method, path, f"ARI not reachable at {where} ({_reason(exc)})") from exc
        log.debug("ARI %s %s %s -> %s", method, path, query, response.status_code)
        if response.is_success:
            return response
        raise error_for(response.status_code, method, path, _message(response))

    async def _op(self, name: str, /, *, params: dict | None = None, json: Any = None, **path_args: str) -> Any:
        method, template = OPERATIONS[name]
        return await self.request(method, _fill(template, path_args), params=params, json=json)

    # -- channels ----------------------------------------------------------

    async def answer(self, channel_id: str) -> None:
        await self._op("answer", channel_id=channel_id)

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self._op("hangup", channel_id=channel_id, params={"reason": reason})

    async def ring(self, channel_id: str) -> None:
        await self._op("ring", channel_id=channel_id)

    async def ring_stop(self, channel_id: str) -> None:
        await self._op("ring_stop", channel_id=channel_id)

    async def play(self, channel_id: str, playback_id: str, media: str | list[str], lang: str | None = None) -> dict:
        params = {"media": _csv(media), "lang": lang}
        return await self._op("play", channel_id=channel_id, playback_id=playback_id, params=params)

    async def originate(
        self,
        endpoint: str,
        *,
        channel_id: str,
        app: str,
        app_args: str = "",
        caller_id: str | None = None,
        timeout: int = 30,
        variables: dict[str, str] | None = None,
        originator: str | None = None,
    ) -> dict:
        params = {
            "endpoint": endpoint,
            "app": app,
            "appArgs": app_args,
            "callerId": caller_id,
            "timeout": timeout,
            "originator": originator,
        }
        return await self._op("originate", channel_id=channel_id, params=params, json=_variables(variables))

    async def create_channel(
        self,
        endpoint: str,
        *,
        channel_id: str,
        app: str,
        app_args: str = "",
        originator: str | None = None,
        formats: str | None = None,
        variables: dict[str, str] | None = None,
    ) -> dict:
        """Create a channel without dialling it (``dial`` does): lets us set it up first."""
        params = {
            "endpoint": endpoint,
            "channelId": channel_id,
            "app": app,
            "appArgs": app_args,
            "originator": originator,
            "formats": formats,
        }
        return await self._op("create_channel", params=params, json=_variables(variables))

    async def dial(self, channel_id: str, caller: str | None = None, timeout: int | None = None) -> None:
        await self._op("dial", channel_id=channel_id, params={"caller": caller, "timeout": timeout})

    async def get_channel(self, channel_id: str) -> dict:
        return await self._op("get_channel", channel_id=channel_id)

    async def list_channels(self) -> list[dict]:
        return await self._op("list_channels")

    async def set_var(self, channel_id: str, name: str, value: str) -> None:
        await self._op("set_var", channel_id=channel_id, params={"variable": name, "value": value})

    async def get_var(self, channel_id: str, name: str) -> str:
        """The variable's value; ``AriNotFound`` when the channel or the variable does not exist."""
        answer = await self._op("get_var", channel_id=channel_id, params={"variable": name})
        return answer["value"]

    async def continue_in_dialplan(self, channel_id: str, context: str, extension: str, priority: int = 1) -> None:
        params = {"context": context, "extension": extension, "priority": priority}
        await self._op("continue_in_dialplan", channel_id=channel_id, params=params)

    # -- bridges -----------------------------------------------------------

    async def create_bridge(self, bridge_id: str, type: str = "mixing", name: str | None = None) -> dict:
        return await self._op("create_bridge", bridge_id=bridge_id, params={"type": type, "name": name})

    async def add_to_bridge(self, bridge_id: str, channel_id: str | list[str]) -> None:
        await self._op("add_to_bridge", bridge_id=bridge_id, params={"channel": _csv(channel_id)})

    async def remove_from_bridge(self, bridge_id: str, channel_id: str | list[str]) -> None:
        await self._op("remove_from_bridge", bridge_id=bridge_id, params={"channel": _csv(channel_id)})

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self._op("destroy_bridge", bridge_id=bridge_id)

    async def list_bridges(self) -> list[dict]:
        return await self._op("list_bridges")

    async def play_on_bridge(
        self, bridge_id: str, playback_id: str, media: str | list[str], lang: str | None = None
    ) -> dict:
        params = {"media": _csv(media), "lang": lang}
        return await self._op("play_on_bridge", bridge_id=bridge_id, playback_id=playback_id, params=params)

    async def record_bridge(
        self,
        bridge_id: str,
        name: str,
        fmt: str = "wav",
        if_exists: str = "overwrite",
        beep: bool = False,
        max_duration: int = 0,
    ) -> dict:
        """Record the bridge's mix: recording a bridged channel fails with 409 (see ASTERISK-NOTES)."""
        params = {"name": name, "format": fmt, "ifExists": if_exists, "beep": beep, "maxDurationSeconds": max_duration}
        return await self._op("record_bridge", bridge_id=bridge_id, params=params)

    # -- playbacks, recordings, system ------------------------------------

    async def stop_playback(self, playback_id: str) -> None:
        await self._op("stop_playback", playback_id=playback_id)

    async def stop_recording(self, name: str) -> None:
        await self._op("stop_recording", name=name)

    async def stored_recording_file(self, name: str) -> bytes:
        method, template = OPERATIONS["stored_recording_file"]
        return (await self._send(method, _fill(template, {"name": name}), None, None)).content

    async def delete_stored_recording(self, name: str) -> None:
        await self._op("delete_stored_recording", name=name)

    async def get_endpoint(self, tech: str, resource: str) -> dict:
        return await self._op("get_endpoint", tech=tech, resource=resource)

    async def list_endpoints(self, tech: str) -> list[dict]:
        return await self._op("list_endpoints", tech=tech)

    async def asterisk_info(self) -> dict:
        return await self._op("asterisk_info")

    async def ping(self) -> dict:
        return await self._op("ping")

    async def set_global(self, name: str, value: str) -> None:
        """Set a dialplan global variable (``GLOBAL(name)``)."""
        await self._op("set_global", params={"variable": name, "value": value})

    async def application(self, app: str) -> dict:
        return await self._op("application", app=app)

    async def subscribe(self, app: str, event_source: str | list[str]) -> dict:
        """Keep receiving events for e.g. ``channel:<id>`` after it leaves the app (continue_in_dialplan)."""
        return await self._op("subscribe", app=app, params={"eventSource": _csv(event_source)})

    async def event_filter(self, app: str, allowed: list[str]) -> dict:
        """Only these event types reach ``app`` from now on (an empty list: all of them again).

        Asterisk filters the answers to requests sent over the events websocket too
        (``RESTResponse``, checked): they are always let through.
        """
        types = sorted({*allowed, "RESTResponse"}) if allowed else []
        return await self._op("event_filter", app=app, json={"allowed": [{"type": t} for t in types], "disallowed": []})


def _fill(template: str, path_args: dict[str, str]) -> str:
    # Ids are ours but names and endpoints are not: quote everything, "/" included.
    return template.format(**{k: quote(str(v), safe="") for k, v in path_args.items()})


def _csv(value: str | list[str]) -> str:
    # ARI's allowMultiple query parameters take one comma-separated value; a
    # repeated parameter would keep only the last occurrence.
    return value if isinstance(value, str) else ",".join(value)


def _variables(variables: dict[str, str] | None) -> dict | None:
    return {"variables": variables} if variables else None


def _reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    cause: BaseException | None = exc
    while cause is not None:  # httpx wraps httpcore wraps the OSError that says what happened
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__


def _message(response: httpx.Response) -> str:
    """Asterisk's ``message`` field, or the body's start, or the status phrase."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return response.text.strip()[:200] or response.reason_phrase
