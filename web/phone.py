"""``GET /api/agents/me/phone``: the browser softphone's account, for the agent page's JsSIP.

Only a call-taker of the directory (``agents:``) has a browser phone ``<name>-web``; its
password is that of the agent's SIP phone, as rendered into Asterisk (``app.asterisk``).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from app.asterisk import webrtc
from app.asterisk.secrets import endpoint_password
from web.api import UNAUTHENTICATED
from web.deps import Agent, ContextDep, role

router = APIRouter(prefix="/api")


class Phone(BaseModel):
    ws_uri: str
    sip_uri: str
    authorization_user: str
    password: str
    display_name: str


@router.get(
    "/agents/me/phone",
    response_model=Phone,
    openapi_extra=role("agent"),
    responses={**UNAUTHENTICATED, 404: {"description": "The user is not a call-taker of the directory"}},
)
def my_phone(user: Agent, ctx: ContextDep):
    """Where and how the token's user registers their browser softphone (JsSIP)."""
    agents = {a.name for a in ctx.directory.agents} if ctx.directory else set()
    if user.name not in agents:
        raise HTTPException(404, f"{user.name} is not a call-taker in the directory (agents:), so has no browser phone")
    settings = ctx.settings
    account = webrtc.account(settings, user.name, endpoint_password(settings, user.name), user.name)
    return Phone(**account.__dict__)
