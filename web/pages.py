"""Server-rendered pages: the login form, logging out, and the home page.

Every form carries a CSRF token in a hidden field (or the ``X-CSRF-Token``
header): the session's own token once logged in, and before that the token of
the login cookie, so another site can neither log someone out nor log them in
as someone else. A POST without the right token is 403.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Header, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.cases import service as cases
from app.cases.views import cases_as_dicts
from app.clock import local_text
from web import tokens, vendor
from web.auth import TooManyAttempts, WrongLogin, login
from web.context import WebContext
from web.deps import LOGIN_COOKIE, SESSION_COOKIE, AgentPage, ContextDep, SessionDep, role

router = APIRouter()
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
templates.env.filters["wita"] = local_text
LATEST = 20  # cases on the home page
LOGIN_FORM_SECONDS = 3600
REDIRECT: dict[int | str, dict[str, Any]] = {303: {"description": "To the login form when there is no session"}}


def _safe_next(then: str | None) -> str:
    """Only a path on this site: never ``//evil.example`` or ``https://...``."""
    if then and then.startswith("/") and not then.startswith("//") and "\\" not in then:
        return then
    return "/"


def csrf_ok(expected: str | None, *given: str | None) -> bool:
    return bool(expected) and any(g and secrets.compare_digest(g, expected or "") for g in given)


def _cookie(response: Response, request: Request, name: str, value: str, seconds: int) -> None:
    # Secure when the browser reached us over https (uvicorn reads X-Forwarded-Proto from a local proxy).
    response.set_cookie(
        name, value, max_age=seconds, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
    )


def _login_form(request: Request, ctx: WebContext, then: str, error: str | None = None, status: int = 200) -> Response:
    claims = tokens.read(ctx.key, "login", request.cookies.get(LOGIN_COOKIE))
    csrf = claims["csrf"] if claims and isinstance(claims.get("csrf"), str) else secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request, "login.html", {"csrf": csrf, "next": then, "error": error}, status_code=status
    )
    if claims is None:
        _cookie(
            response,
            request,
            LOGIN_COOKIE,
            tokens.issue(ctx.key, "login", LOGIN_FORM_SECONDS, csrf=csrf),
            LOGIN_FORM_SECONDS,
        )
    return response


@router.get("/login", response_class=HTMLResponse, openapi_extra=role("public"), tags=["pages"])
def login_form(request: Request, ctx: ContextDep, next: str | None = None):
    """The login form."""
    return _login_form(request, ctx, _safe_next(next))


@router.post(
    "/login",
    response_class=HTMLResponse,
    openapi_extra=role("public"),
    tags=["pages"],
    responses={
        303: {"description": "Logged in"},
        401: {"description": "Wrong login"},
        403: {"description": "No CSRF token"},
        429: {"description": "Too many failures"},
    },
)
def login_submit(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
):
    claims = tokens.read(ctx.key, "login", request.cookies.get(LOGIN_COOKIE))
    if not csrf_ok(claims.get("csrf") if claims else None, csrf):
        raise HTTPException(403, "the login form has expired or did not come from this site; reload it")
    then = _safe_next(next)
    address = request.client.host if request.client else "unknown"
    try:
        user = login(ctx, session, username, password, address)
    except TooManyAttempts as exc:
        response = _login_form(request, ctx, then, str(exc), 429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except WrongLogin:
        return _login_form(request, ctx, then, "Wrong user name or password.", 401)
    seconds = int(ctx.settings.webapp.session_hours * 3600)
    session_token = tokens.issue(
        ctx.key, "session", seconds, uid=user.id, sub=user.name, csrf=secrets.token_urlsafe(24)
    )
    response = RedirectResponse(then, status_code=303)
    _cookie(response, request, SESSION_COOKIE, session_token, seconds)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post(
    "/logout",
    openapi_extra=role("agent"),
    tags=["pages"],
    responses={**REDIRECT, 403: {"description": "No CSRF token"}},
)
def logout(
    page: AgentPage,
    csrf: Annotated[str, Form(max_length=256)] = "",
    x_csrf_token: Annotated[str | None, Header(max_length=256)] = None,
):
    if not csrf_ok(page.csrf, csrf, x_csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse, openapi_extra=role("agent"), tags=["pages"], responses=REDIRECT)
def home(request: Request, page: AgentPage, session: SessionDep):
    """Who is logged in, and the latest cases (times in Badung, WITA)."""
    latest = cases_as_dicts(session, cases.list_cases(session, limit=LATEST))
    softphone = vendor.present("jssip/jssip.min.js")
    return templates.TemplateResponse(
        request, "home.html", {"user": page.user, "csrf": page.csrf, "cases": latest, "softphone": softphone}
    )


def login_redirect(then: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(_safe_next(then))}", status_code=303)
