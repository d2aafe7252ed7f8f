"""Every ARI helper against the API description Asterisk 22 ships (rest-api/*.json)."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from app import paths
from ivr.ari import AriClient
from ivr.ari.operations import OPERATIONS
from tests.support.parts import need

REST_API = paths.ASTERISK_CHROOT / "usr" / "share" / "asterisk" / "rest-api"

# One sample call per helper; a new helper without a row here fails the coverage test.
SAMPLE_CALLS = {
    "answer": lambda c: c.answer("ch-1"),
    "hangup": lambda c: c.hangup("ch-1", reason="busy"),
    "ring": lambda c: c.ring("ch-1"),
    "ring_stop": lambda c: c.ring_stop("ch-1"),
    "play": lambda c: c.play("ch-1", "pb-1", ["sound:hello-world", "tone:ring"], lang="id"),
    "play_on_bridge": lambda c: c.play_on_bridge("br-1", "pb-2", "sound:beep", lang="en"),
    "stop_playback": lambda c: c.stop_playback("pb-1"),
    "originate": lambda c: c.originate(
        "Local/100@ctx",
        channel_id="ch-2",
        app="siaga",
        app_args="agency,7",
        caller_id="112 <112>",
        timeout=20,
        variables={"CASE": "9"},
        originator="ch-1",
    ),
    "create_channel": lambda c: c.create_channel(
        "PJSIP/unit-1",
        channel_id="ch-3",
        app="siaga",
        app_args="unit",
        originator="ch-1",
        formats="ulaw",
        variables={"CASE": "9"},
    ),
    "dial": lambda c: c.dial("ch-3", caller="ch-1", timeout=15),
    "get_channel": lambda c: c.get_channel("ch-1"),
    "list_channels": lambda c: c.list_channels(),
    "set_var": lambda c: c.set_var("ch-1", "SIAGA_CASE", "42"),
    "get_var": lambda c: c.get_var("ch-1", "SIAGA_CASE"),
    "continue_in_dialplan": lambda c: c.continue_in_dialplan("ch-1", "siaga-fallback", "s", 2),
    "create_bridge": lambda c: c.create_bridge("br-1", type="mixing", name="case-42"),
    "add_to_bridge": lambda c: c.add_to_bridge("br-1", ["ch-1", "ch-2"]),
    "remove_from_bridge": lambda c: c.remove_from_bridge("br-1", "ch-2"),
    "destroy_bridge": lambda c: c.destroy_bridge("br-1"),
    "list_bridges": lambda c: c.list_bridges(),
    "record_bridge": lambda c: c.record_bridge(
        "br-1", "case-42", fmt="wav", if_exists="fail", beep=True, max_duration=3600
    ),
    "stop_recording": lambda c: c.stop_recording("case-42"),
    "stored_recording_file": lambda c: c.stored_recording_file("case-42"),
    "delete_stored_recording": lambda c: c.delete_stored_recording("case-42"),
    "get_endpoint": lambda c: c.get_endpoint("PJSIP", "operator-1"),
    "list_endpoints": lambda c: c.list_endpoints("PJSIP"),
    "asterisk_info": lambda c: c.asterisk_info(),
    "ping": lambda c: c.ping(),
    "set_global": lambda c: c.set_global("SIAGA_SHED", "1"),
    "application": lambda c: c.application("siaga"),
    "subscribe": lambda c: c.subscribe("siaga", "channel:ch-1"),
    "event_filter": lambda c: c.event_filter("siaga", ["StasisStart"]),
}

# Operations whose one body parameter is the whole JSON body, not a key in it
# (eventFilter takes {"allowed": [...], "disallowed": [...]}: tests/ivr/ari/test_live.py).
WHOLE_BODY = {"event_filter": "filter"}


def _template_key(method: str, path: str) -> tuple[str, str]:
    return method, re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture(scope="module")
def spec() -> dict[tuple[str, str], dict]:
    need(REST_API.is_dir(), f"Asterisk's rest-api description at {REST_API}")
    operations = {}
    for file in REST_API.glob("*.json"):
        for api in json.loads(file.read_text()).get("apis", []):
            for op in api.get("operations", []):
                operations[_template_key(op["httpMethod"], api["path"])] = op
    return operations


async def _capture(name: str) -> httpx.Request:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"value": "42"})

    async with AriClient("http://ari.test:8088/ari", "siaga", "pw", transport=httpx.MockTransport(handler)) as client:
        await SAMPLE_CALLS[name](client)
    assert len(seen) == 1, f"{name} sent {len(seen)} requests"
    return seen[0]


def test_every_operation_in_the_table_is_a_helper_with_a_sample_call():
    assert set(SAMPLE_CALLS) == set(OPERATIONS)
    for name in OPERATIONS:
        assert callable(getattr(AriClient, name, None)), name


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_operation_exists_in_asterisks_api_description(name, spec):
    method, path = OPERATIONS[name]
    assert _template_key(method, path) in spec, f"{name}: {method} {path} is not in Asterisk 22's ARI"


@pytest.mark.parametrize("name", sorted(OPERATIONS))
async def test_helper_sends_only_parameters_asterisk_declares(name, spec):
    method, template = OPERATIONS[name]
    request = await _capture(name)
    op = spec[_template_key(method, template)]
    declared = {p["name"]: p for p in op.get("parameters", [])}

    assert request.method == method
    pattern = "/ari" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
    assert re.fullmatch(pattern, request.url.path), f"{request.url.path} does not fill {template}"

    sent = dict(request.url.params)
    for key, value in sent.items():
        assert key in declared and declared[key]["paramType"] == "query", f"{name}: ?{key} is not declared"
        allowed = declared[key].get("allowableValues", {})
        if allowed.get("valueType") == "LIST" and not declared[key].get("allowMultiple"):
            assert value in allowed["values"], f"{name}: {key}={value!r} not one of {allowed['values']}"
    required = {n for n, p in declared.items() if p["paramType"] == "query" and p.get("required")}
    assert required <= set(sent), f"{name}: missing required {required - set(sent)}"

    if request.content:
        body = json.loads(request.content)
        body_params = {n for n, p in declared.items() if p["paramType"] == "body"}
        if name in WHOLE_BODY:  # the declared parameter is the body itself
            assert body_params == {WHOLE_BODY[name]}, f"{name}: body parameters {body_params}"
        else:
            assert set(body) <= body_params, f"{name}: body keys {set(body)} not declared"
