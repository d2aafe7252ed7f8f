"""The API for call-takers' states and calls: it asks the call service (``web.callservice``), the owner of calls."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from app.cases import service as cases
from app.directory.routing import route
from web.api import DENIED, UNAUTHENTICATED
from web.callservice import CallServiceDown, Refusal, ask
from web.deps import Agent, ContextDep, DirectoryDep, SessionDep, Supervisor, role

router = APIRouter(prefix="/api")

DOWN: dict[int | str, dict[str, Any]] = {503: {"description": "The call service is not answering"}}
TICKET = PathParam(max_length=40, pattern=r"^[0-9A-Za-z-]+$")


class AgentState(BaseModel):
    agent: str
    status: str
    since: str | None
    languages: list[str]
    phones: dict[str, bool]
    offered: str | None
    ticket: str | None
    wrapup_ends_at: str | None
    reason: str


class StatusIn(BaseModel):
    status: Literal["available", "away", "offline"]


class DispatchIn(BaseModel):
    unit: str = Field(min_length=1, max_length=64)
    mode: Literal["conference", "transfer"]


class DispatchOut(BaseModel):
    ticket: str
    unit: str
    mode: str
    state: str


class Suggestion(BaseModel):
    unit: str
    name: str
    agency: str | None
    distance_km: float | None
    covers_district: bool


async def _ask(ctx, method: str, path: str, body: dict | None = None) -> Any:
    try:
        return await ask(ctx.settings, method, path, body)
    except CallServiceDown as exc:
        raise HTTPException(503, str(exc)) from None
    except Refusal as exc:
        raise HTTPException(exc.status, exc.detail) from None


@router.get("/agents/me", response_model=AgentState, openapi_extra=role("agent"), responses={**UNAUTHENTICATED, **DOWN})
async def my_state(user: Agent, ctx: ContextDep):
    """The calling agent's state: status, registered phones, the call ringing or taken."""
    return await _ask(ctx, "GET", f"/agents/{user.name}")


@router.put(
    "/agents/me/status",
    response_model=AgentState,
    openapi_extra=role("agent"),
    responses={**UNAUTHENTICATED, **DOWN, 409: {"description": "Not allowed now (no phone, on a call ...)"}},
)
async def set_my_status(user: Agent, ctx: ContextDep, body: StatusIn):
    """Go available (needs a registered phone), away or offline; available also ends wrap-up early."""
    return await _ask(ctx, "PUT", f"/agents/{user.name}/status", {"status": body.status})


@router.get("/agents", response_model=list[AgentState], openapi_extra=role("supervisor"), responses={**DENIED, **DOWN})
async def all_agents(user: Supervisor, ctx: ContextDep):
    """Every call-taker's state."""
    return await _ask(ctx, "GET", "/agents")


@router.get(
    "/cases/{ticket}/suggestions",
    response_model=list[Suggestion],
    openapi_extra=role("agent"),
    responses={**UNAUTHENTICATED, 404: {"description": "No case with that ticket"}},
)
def suggestions(
    user: Agent,
    directory: DirectoryDep,
    session: SessionDep,
    ticket: Annotated[str, TICKET],
    category: Annotated[str | None, Query(max_length=32, description="When the case has none yet")] = None,
    district: Annotated[str | None, Query(max_length=32, description="When the case has none yet")] = None,
):
    """Units for the case, as the directory routes it: the category's agency, covering the district first,
    nearest first. A ringing case may not hold the IVR's answers yet (the database follows the call by a
    moment): the page passes them from the offer, and the case's own values win once it has them."""
    case = cases.get_case(session, ticket)
    if case is None:
        raise HTTPException(404, f"no case with ticket {ticket}")
    category, district = case.category or category, case.district or district
    out = []
    for candidate in route(directory, case.line, category, district):
        if candidate.kind != "unit":
            continue
        unit = next(u for u in directory.units if u.id == candidate.id)
        out.append(
            Suggestion(
                unit=candidate.id,
                name=candidate.name,
                agency=candidate.agency,
                distance_km=candidate.distance_km,
                covers_district=district in unit.districts,
            )
        )
    return out


@router.post(
    "/cases/{ticket}/dispatch",
    response_model=DispatchOut,
    status_code=202,
    openapi_extra=role("agent"),
    responses={
        **UNAUTHENTICATED,
        **DOWN,
        409: {"description": "The call has ended, is taken by another agent, or a unit is still ringing"},
        422: {"description": "Unknown unit or mode"},
    },
)
async def dispatch(user: Agent, ctx: ContextDep, body: DispatchIn, ticket: Annotated[str, TICKET]):
    """Bring a unit into the call: ``conference`` (caller, agent and unit together; the agent may leave)
    or ``transfer`` (the agent leaves once the unit answered). Progress comes on the agent page's events."""
    request = {"unit": body.unit, "mode": body.mode, "by": user.name, "role": user.role}
    return await _ask(ctx, "POST", f"/calls/{ticket}/dispatch", request)
