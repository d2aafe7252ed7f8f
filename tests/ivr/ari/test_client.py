"""AriClient: requests it sends, answers it parses, and failures as typed errors."""

from __future__ import annotations

import base64
import json
import socket

import httpx
import pytest
from pydantic import SecretStr

from app.settings import AriSettings
from ivr.ari import (
    AriAuthError,
    AriBadRequest,
    AriClient,
    AriConflict,
    AriError,
    AriNotFound,
    AriUnavailable,
)


def _client(handler, **kwargs) -> AriClient:
    return AriClient(
        "http://ari.test:8088/ari", "siaga", SecretStr("s3cret"), transport=httpx.MockTransport(handler), **kwargs
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_requests_carry_basic_auth_and_go_under_the_ari_prefix():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"id": "ch-1", "state": "Up"})

    async with _client(handler) as client:
        channel = await client.get_channel("ch-1")

    assert channel == {"id": "ch-1", "state": "Up"}
    assert str(seen[0].url) == "http://ari.test:8088/ari/channels/ch-1"
    expected = "Basic " + base64.b64encode(b"siaga:s3cret").decode()
    assert seen[0].headers["authorization"] == expected


async def test_empty_answer_is_none():
    async with _client(lambda request: httpx.Response(204)) as client:
        assert await client.request("POST", "/channels/ch-1/answer") is None


async def test_originate_puts_variables_in_the_json_body_and_uses_our_channel_id():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"id": "ch-9"})

    async with _client(handler) as client:
        await client.originate(
            "Local/100@agency", channel_id="ch-9", app="siaga", app_args="a,b", variables={"SIAGA_CASE": "42"}
        )

    request = seen[0]
    assert request.url.path == "/ari/channels/ch-9"
    assert json.loads(request.content) == {"variables": {"SIAGA_CASE": "42"}}
    assert request.url.params["appArgs"] == "a,b"
    assert "callerId" not in request.url.params  # None parameters are left out, not sent empty


async def test_several_media_go_as_one_comma_separated_parameter():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(201, json={"id": "pb-1"})

    async with _client(handler) as client:
        await client.play("ch-1", "pb-1", ["sound:a", "sound:b"])

    assert seen[0].url.params.get_list("media") == ["sound:a,sound:b"]


async def test_path_values_are_quoted():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={})

    async with _client(handler) as client:
        await client.get_endpoint("PJSIP", "unit 1/a")

    assert seen[0].url.raw_path == b"/ari/endpoints/PJSIP/unit%201%2Fa"


async def test_booleans_are_sent_the_way_asterisk_parses_them():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(201, json={"name": "r"})

    async with _client(handler) as client:
        await client.record_bridge("br-1", "r", beep=True)

    assert seen[0].url.params["beep"] == "true"


async def test_get_var_returns_the_value():
    async with _client(lambda request: httpx.Response(200, json={"value": "42"})) as client:
        assert await client.get_var("ch-1", "SIAGA_CASE") == "42"


async def test_stored_recording_file_returns_the_raw_bytes():
    audio = b"RIFF\x00\x01binary"
    async with _client(
        lambda request: httpx.Response(200, content=audio, headers={"content-type": "audio/wav"})
    ) as client:
        assert await client.stored_recording_file("case-42") == audio


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, AriBadRequest),
        (401, AriAuthError),
        (403, AriAuthError),
        (404, AriNotFound),
        (409, AriConflict),
        (412, AriError),
        (500, AriError),
    ],
)
async def test_rejections_map_to_typed_errors_with_asterisks_message(status, error):
    def handler(request):
        return httpx.Response(status, json={"message": "Channel not found"})

    async with _client(handler) as client:
        with pytest.raises(error) as caught:
            await client.hangup("gone")

    assert type(caught.value) is error
    assert not isinstance(caught.value, AriUnavailable)
    assert caught.value.status == status
    assert caught.value.message == "Channel not found"
    assert str(caught.value) == f"ARI DELETE /channels/gone -> {status}: Channel not found"


async def test_rejection_without_json_body_keeps_the_text():
    async with _client(lambda request: httpx.Response(401, text="Authentication required")) as client:
        with pytest.raises(AriAuthError, match="Authentication required"):
            await client.asterisk_info()


async def test_connection_refused_is_unavailable_not_a_rejection():
    port = _free_port()
    async with AriClient(f"http://127.0.0.1:{port}/ari", "siaga", "pw", timeout=2.0) as client:
        with pytest.raises(AriUnavailable) as caught:
            await client.list_channels()

    assert caught.value.status == 0
    assert str(caught.value).endswith(f"ARI not reachable at 127.0.0.1:{port} (connection refused)")


async def test_timeout_is_unavailable():
    def handler(request):
        raise httpx.ReadTimeout("read timed out", request=request)

    async with _client(handler) as client:
        with pytest.raises(AriUnavailable, match="timed out"):
            await client.answer("ch-1")


async def test_from_settings_uses_base_url_and_secret():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json=[])

    ari = AriSettings(host="pbx.test", port=8099, user="svc", password=SecretStr("pw"))
    async with AriClient.from_settings(ari, transport=httpx.MockTransport(handler)) as client:
        await client.list_bridges()

    assert str(seen[0].url) == "http://pbx.test:8099/ari/bridges"
    assert seen[0].headers["authorization"] == "Basic " + base64.b64encode(b"svc:pw").decode()
