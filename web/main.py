"""The web application's composition root: ``create_app(settings)`` builds the database, key and limits once.

The API reference is at /docs: Swagger UI from web/node_modules (web/vendor.py)
over /openapi.json. FastAPI's own docs pages load theirs from a CDN, which the
Content-Security-Policy below forbids: every script, style, image and connection
comes from this site. In CSP Level 3 'self' also admits ws:// and wss:// to this
same host and port, which the softphone's SIP over WebSocket will use.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import db
from app.asterisk import webrtc
from app.directory.loader import DirectoryError, load_directory
from app.settings import Settings
from web import agent_page, agents_api, api, kpi_api, pages, phone, vendor
from web.context import WebContext
from web.deps import LoginRequired
from web.ratelimit import LoginLimiter
from web.secret import signing_key

log = logging.getLogger("siaga.web")

CSP = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",  # Swagger UI's stylesheet draws its icons as data: SVGs; data: reaches no host
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
]
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),  # case data and tokens stay out of browser and proxy caches
]


def csp(settings: Settings) -> str:
    """The policy, with the softphone's SIP WebSocket (Asterisk's own port) admitted besides this site."""
    return "; ".join(f"{d} {webrtc.origin(settings)}" if d == "connect-src 'self'" else d for d in CSP)


def create_app(settings: Settings, engine: Engine | None = None, key: bytes | None = None) -> FastAPI:
    webapp = settings.webapp
    engine = engine or db.make_engine(settings.database.url)
    ctx = WebContext(
        settings=settings,
        key=key or signing_key(settings),
        sessions=db.session_factory(engine),
        limiter=LoginLimiter(webapp.login_attempts, webapp.login_attempts_per_address, webapp.login_window_seconds),
        directory=_directory(settings),
    )
    app = FastAPI(title="Siaga", version="0.1.0", docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.ctx = ctx
    app.include_router(api.router)
    app.include_router(agents_api.router)
    app.include_router(kpi_api.router)
    app.include_router(phone.router)
    app.include_router(pages.router)
    app.include_router(agent_page.router)
    app.include_router(vendor.router)  # before the /static mount, which would answer its paths first
    vendor.check()
    app.mount("/static", StaticFiles(directory=Path(__file__).resolve().parent / "static"), name="static")

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired):
        return pages.login_redirect(exc.then)

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs(request: Request):
        swagger = vendor.present("swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css")
        return pages.templates.TemplateResponse(request, "docs.html", {"doc": app.openapi(), "swagger": swagger})

    app.add_middleware(_SecurityHeaders, headers=[*HEADERS, (b"content-security-policy", csp(settings).encode())])
    return app


def _directory(settings: Settings):
    # The web app only reads who the call-takers are; a broken directory must not keep logins out.
    try:
        return load_directory(settings.directory)
    except (DirectoryError, OSError) as exc:
        log.error("directory %s unreadable, no browser phones: %s", settings.directory, exc)
        return None


class _SecurityHeaders:
    """The same protective headers on every answer, errors included."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, with_headers)
