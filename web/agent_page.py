"""The call-taker's page: ``/agent`` (softphone and case panel), its API token and its live feed.

The page's script calls the API like any client, with a bearer token; it gets a short-lived
one from ``POST /agent/token``, which takes the session cookie and the session's CSRF token
(so another site cannot obtain one with the agent's cookie). ``/agent/events`` streams the
agent's messages (``web.agent_events``) to the page's EventSource.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Header, HTTPException, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from web import tokens, vendor
from web.agent_events import feed
from web.api import Token
from web.deps import AgentPage, ContextDep, role
from web.pages import REDIRECT, csrf_ok, templates

router = APIRouter(tags=["pages"])
PAGE_TOKEN_SECONDS = 600  # the page asks again at half of it; a leaked one is soon useless


@router.get("/agent", response_class=HTMLResponse, openapi_extra=role("agent"), responses=REDIRECT)
def agent_page(request: Request, page: AgentPage, ctx: ContextDep):
    """The softphone, the agent's status and the case that rings (times in Badung, WITA)."""
    agents = {a.name for a in ctx.directory.agents} if ctx.directory else set()
    return templates.TemplateResponse(
        request,
        "agent.html",
        {
            "user": page.user,
            "csrf": page.csrf,
            "softphone": vendor.present("jssip/jssip.min.js"),
            "desk": page.user.name in agents,
        },
    )


@router.post(
    "/agent/token",
    response_model=Token,
    openapi_extra=role("agent"),
    responses={**REDIRECT, 403: {"description": "No CSRF token"}},
)
def agent_token(
    page: AgentPage,
    ctx: ContextDep,
    csrf: Annotated[str, Form(max_length=256)] = "",
    x_csrf_token: Annotated[str | None, Header(max_length=256)] = None,
):
    """A short-lived API bearer token for the logged-in user's page script."""
    if not csrf_ok(page.csrf, csrf, x_csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token")
    user = page.user
    token = tokens.issue(ctx.key, "api", PAGE_TOKEN_SECONDS, uid=user.id, sub=user.name)
    return Token(access_token=token, expires_in=PAGE_TOKEN_SECONDS)


# Not in the OpenAPI document: an endless stream is no operation to call (the role walk would never
# end); tests/web/test_agent_page.py checks its login and its messages.
@router.get("/agent/events", include_in_schema=False)
def agent_events(request: Request, page: AgentPage, ctx: ContextDep):
    return StreamingResponse(
        feed(ctx.settings, page.user.name, request.is_disconnected),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},  # a proxy in front must pass each message on at once
    )
