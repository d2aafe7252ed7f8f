"""The web app's side of the internal channel: agent commands to the call service, which owns calls.

Loopback HTTP to the call service's server (``web.host``:``web.port``, under /internal) with the
shared secret (``app.files.internal_secret``). The call service down or slow is ``CallServiceDown``
(the API answers 503 and the agent page says so); its refusals come back with their status and reason.
"""

from __future__ import annotations

from typing import Any

import httpx

from app.files import internal_secret
from app.settings import Settings

TIMEOUT = httpx.Timeout(7.0, connect=1.0)  # a dispatch waits up to 5 s for the call to take it


class CallServiceDown(Exception):
    pass


class Refusal(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


async def ask(settings: Settings, method: str, path: str, body: dict | None = None) -> Any:
    web = settings.web
    headers = {"Authorization": f"Bearer {internal_secret(settings).decode()}"}
    try:
        async with httpx.AsyncClient(base_url=f"http://{web.host}:{web.port}/internal", timeout=TIMEOUT) as client:
            answer = await client.request(method, path, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise CallServiceDown(f"the call service is not answering ({type(exc).__name__})") from None
    if answer.status_code == 404 and answer.headers.get("content-type", "").startswith("application/json"):
        detail = answer.json().get("detail", "not found")
        if detail == "Not Found":  # the route itself is missing: a call service without call-takers
            raise Refusal(404, "the call service runs without call-takers (the directory lists no agents)")
        raise Refusal(404, str(detail))
    if answer.status_code >= 400:
        try:
            detail = answer.json().get("detail", answer.text)
        except ValueError:
            detail = answer.text
        if answer.status_code == 401:  # our secret is not its secret: a setup fault, not the user's
            raise CallServiceDown("the call service refused the internal secret (internal.secret differs)")
        raise Refusal(answer.status_code, str(detail))
    return answer.json()
