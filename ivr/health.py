"""The call service's health endpoint (``GET /healthz``), for operators and monitors.

503 while the service cannot take calls (ARI not connected): a monitor then
knows that calls are going to the dialplan fallback. The OpenAPI document is
served at ``/openapi.json`` (it is what the API fuzz test works from); the
interactive docs pages stay off, they would load scripts from a CDN.

The endpoint never answers 500: the watchdog reads any failure as "down" and
moves callers. The handler runs on the event loop (``async def``), so it reads
the parts' state between two of their steps, never from a worker thread while
the loop changes it. Each part reports through ``reported``: one that fails is
named in the answer (``<part>_error``) and the others still report. If the
core part (is ARI connected?) cannot say, the answer is 503 with what is known.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

log = logging.getLogger("siaga.health")

# What an answer always holds, whatever failed (the model below requires these keys).
UNKNOWN = {"status": "degraded", "ari": "unknown", "calls": None, "profile": "unknown"}
_failing: set[str] = set()  # parts whose failure was logged (once until they report again)


class Health(BaseModel):
    """What ``CallService.status()`` reports; other keys (database, journal ...) come along as they are."""

    model_config = ConfigDict(extra="allow")

    status: Literal["ok", "degraded"]
    ari: str
    calls: int | None  # None: not known (the part that counts calls failed)
    profile: str


def reported(part: str, status: Callable[[], dict]) -> dict:
    """``status()``'s keys, or ``{"<part>_error": why}`` when it fails: one part cannot fail the answer."""
    try:
        keys = status()
    except Exception as exc:
        if part not in _failing:
            _failing.add(part)
            log.exception("health: the %s part could not report", part)
        return {f"{part}_error": f"{type(exc).__name__}: {exc}"[:200]}
    _failing.discard(part)
    return keys


def answer(body: dict) -> JSONResponse:
    """200 when ``status`` is "ok", else 503; the keys the model requires are always there, and of its types."""
    body = {**body, **_core(body)}
    code = 200 if body["status"] == "ok" else 503
    try:
        return JSONResponse(body, status_code=code)
    except (TypeError, ValueError) as exc:  # a value JSON cannot carry (NaN, an object): the keys that matter
        return JSONResponse({**_core(body), "error": f"status not serializable: {exc}"[:200]}, status_code=code)


def _core(body: dict) -> dict:
    status, ari, calls, profile = (body.get(key) for key in UNKNOWN)
    return {
        "status": status if status in ("ok", "degraded") else "degraded",
        "ari": ari if isinstance(ari, str) else "unknown",
        "calls": calls if isinstance(calls, int) else None,
        "profile": profile if isinstance(profile, str) else "unknown",
    }


def health_app(status: Callable[[], dict], routers: tuple[APIRouter, ...] = ()) -> FastAPI:
    app = FastAPI(title="Siaga call service", version="1", docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    for router in routers:  # the internal channel (ivr/agents/commands.py)
        app.include_router(router)

    @app.get(
        "/healthz",
        response_class=JSONResponse,
        responses={
            200: {"model": Health, "description": "Taking calls."},
            503: {"model": Health, "description": "Degraded: ARI not connected, calls go to the dialplan fallback."},
        },
    )
    async def healthz() -> JSONResponse:
        return answer(reported("service", status))

    return app
