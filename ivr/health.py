"""The call service's health endpoint (``GET /healthz``), for operators and monitors.

503 while the service cannot take calls (ARI not connected): a monitor then
knows that calls are going to the dialplan fallback.
"""
from __future__ import annotations

from typing import Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse


def health_app(status: Callable[[], dict]) -> FastAPI:
    app = FastAPI(title="Siaga call service", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        body = status()
        return JSONResponse(body, status_code=200 if body.get("status") == "ok" else 503)

    return app
