"""The internal channel: the web app's agent commands, on the call service's loopback HTTP server.

Every request carries ``Authorization: Bearer <internal secret>`` (``app.files.internal_secret``,
0600 under var/secrets/); anything else is 401. The web app has already checked the user and
the role; the call service checks what only it knows: the agent's phones and state, and the call.
The routes stay out of the public OpenAPI document.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException
from pydantic import BaseModel, Field

from app.clock import utcnow
from ivr.agents.board import SETTABLE, AgentBoard, Refused, UnknownAgent
from ivr.calls import events as ev

DISPATCH_WAIT = 5.0  # seconds for the call's worker to take the request


class StatusIn(BaseModel):
    status: str = Field(max_length=16)


class DispatchIn(BaseModel):
    unit: str = Field(max_length=64)
    mode: Literal["conference", "transfer"]
    by: str = Field(max_length=64)
    role: Literal["agent", "supervisor", "admin"]


def internal_router(
    secret: bytes, board: AgentBoard, find_call: Callable[[str], Callable[[object], None] | None]
) -> APIRouter:
    """``find_call(ticket)`` -> the post function of that call's worker, or None when no such call is up."""

    def authorised(authorization: Annotated[str | None, Header()] = None) -> None:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme != "Bearer" or not secret or not hmac.compare_digest(given.encode("utf-8", "replace"), secret):
            raise HTTPException(401, "internal channel: wrong or missing secret")

    router = APIRouter(prefix="/internal", dependencies=[Depends(authorised)], include_in_schema=False)

    @router.get("/agents")
    async def agents() -> list[dict]:
        return [agent.view() for agent in board.agents.values()]

    @router.get("/agents/{name}")
    async def agent(name: str) -> dict:
        try:
            return board.get(name).view()
        except UnknownAgent:
            raise HTTPException(404, f"{name} is not a call-taker in the directory (no phones)") from None

    @router.put("/agents/{name}/status")
    async def set_status(name: str, body: StatusIn) -> dict:
        if body.status not in SETTABLE:
            raise HTTPException(422, f"status must be one of {', '.join(SETTABLE)}")
        try:
            return board.set_status(name, body.status, utcnow()).view()
        except UnknownAgent:
            raise HTTPException(404, f"{name} is not a call-taker in the directory (no phones)") from None
        except Refused as exc:
            raise HTTPException(409, str(exc)) from None

    @router.post("/calls/{ticket}/dispatch")
    async def dispatch(ticket: str, body: DispatchIn) -> dict:
        post = find_call(ticket)
        if post is None:
            raise HTTPException(409, f"no call in progress for {ticket} (it has ended, or never was)")
        reply: asyncio.Future = asyncio.get_running_loop().create_future()
        post(ev.DispatchRequested(body.unit, body.mode, body.by, body.role, reply))
        try:
            return await asyncio.wait_for(reply, DISPATCH_WAIT)
        except ev.DispatchRefused as exc:
            raise HTTPException(exc.status, exc.detail) from None
        except TimeoutError:
            raise HTTPException(504, f"the call {ticket} did not take the request in time; try again") from None

    return router
