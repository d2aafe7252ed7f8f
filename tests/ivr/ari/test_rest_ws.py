"""RestOverStream's matching and mapping, with a sender that plays Asterisk's part.

The real thing (requests over a real Asterisk's events websocket) is in
test_live.py; here, the cases Asterisk does not produce on demand.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from ivr.ari.errors import AriConflict, AriNotFound, AriUnavailable
from ivr.ari.rest_ws import RestOverStream


class FakeAsterisk:
    """Answers each request with what ``answer(message)`` returns (None: stays silent)."""

    def __init__(self, rest: RestOverStream, answer) -> None:
        self.rest, self.answer, self.sent = rest, answer, []

    async def send(self, text: str) -> None:
        message = json.loads(text)
        self.sent.append(message)
        reply = self.answer(message)
        if reply is not None:
            asyncio.get_running_loop().call_soon(
                self.rest.deliver, {"type": "RESTResponse", "request_id": message["request_id"], **reply}
            )


async def ready(answer) -> tuple[RestOverStream, FakeAsterisk]:
    rest = RestOverStream(timeout=0.5)
    fake = FakeAsterisk(rest, answer)
    rest.attach(fake.send)
    for _ in range(50):
        if rest.ready:
            break
        await asyncio.sleep(0.01)
    return rest, fake


async def test_a_request_carries_method_uri_query_and_body_and_returns_the_parsed_answer():
    rest, fake = await ready(lambda m: {"status_code": 200, "message_body": json.dumps({"echo": m["uri"]})})
    answer = await rest.request(
        "POST", "/channels/c1/play/p1", {"media": "sound:x", "lang": None, "beep": True}, {"variables": {"A": "1"}}
    )
    sent = fake.sent[-1]
    assert sent["type"] == "RESTRequest" and sent["method"] == "POST"
    assert sent["uri"] == "channels/c1/play/p1?media=sound%3Ax&beep=true"  # None left out, bool as Asterisk spells it
    assert json.loads(sent["message_body"]) == {"variables": {"A": "1"}} and sent["content_type"] == "application/json"
    assert answer == {"echo": sent["uri"]}


async def test_no_body_is_none_and_errors_map_like_http():
    replies = iter(
        [
            {"status_code": 204},
            {"status_code": 404, "message_body": '{"message": "Channel not found"}'},
            {"status_code": 409, "reason_phrase": "Conflict"},
        ]
    )
    rest, _ = await ready(lambda m: {"status_code": 200} if m["uri"] == "asterisk/ping" else next(replies))
    assert await rest.request("POST", "channels/c1/answer", None, None) is None
    with pytest.raises(AriNotFound, match="Channel not found"):
        await rest.request("GET", "channels/c1", None, None)
    with pytest.raises(AriConflict, match="Conflict"):
        await rest.request("POST", "bridges/b/record", None, None)


async def test_an_asterisk_that_never_answers_keeps_requests_on_http():
    rest = RestOverStream()
    rest.attach(FakeAsterisk(rest, lambda m: None).send)
    await asyncio.sleep(2.3)  # the probe's time
    assert not rest.ready
    with pytest.raises(AriUnavailable, match="not ready"):
        await rest.request("GET", "asterisk/info", None, None)


async def test_a_silent_answer_times_out_as_unavailable_and_events_pass_through():
    rest, _ = await ready(lambda m: {"status_code": 200} if m["uri"] == "asterisk/ping" else None)
    with pytest.raises(AriUnavailable, match="timed out"):
        await rest.request("GET", "channels", None, None)
    assert rest.deliver({"type": "StasisStart"}) is False  # an event: the app's
    assert rest.deliver({"type": "RESTResponse", "request_id": "999"}) is True  # late or unknown: taken, logged
