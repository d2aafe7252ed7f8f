"""The call service's health endpoint (``GET /healthz``), for operators and monitors.

503 while the service cannot take calls (ARI not connected): a monitor then
knows that calls are going to the dialplan fallback. The OpenAPI document is
served at ``/openapi.json`` (it is what the API fuzz test works from); the
interactive docs pages stay off, they would load scripts from a CDN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict


class Health(BaseModel):
    """What ``CallService.status()`` reports; other keys (database, journal ...) come along as they are."""

    model_config = ConfigDict(extra="allow")

    status: Literal["ok", "degraded"]
    ari: str
    calls: int
    profile: str


def health_app(status: Callable[[], dict]) -> FastAPI:
    app = FastAPI(title="Siaga call service", version="1", docs_url=None, redoc_url=None, openapi_url="/openapi.json")

    @app.get(
        "/healthz",
        response_class=JSONResponse,
        responses={
            200: {"model": Health, "description": "Taking calls."},
            503: {"model": Health, "description": "Degraded: ARI not connected, calls go to the dialplan fallback."},
        },
    )
    def healthz() -> JSONResponse:
        body = status()
        return JSONResponse(body, status_code=200 if body.get("status") == "ok" else 503)

    return app
