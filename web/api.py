"""The JSON API under /api: bearer tokens (OAuth2 password flow), then cases and users by role."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel

from app.cases import service as cases
from app.cases.models import LINES, STATUSES, CasePublic
from app.cases.views import case_public, cases_as_dicts
from app.users.service import list_users
from web import tokens
from web.auth import TooManyAttempts, WrongLogin, login
from web.deps import Admin, Agent, ContextDep, SessionDep, role

router = APIRouter(prefix="/api")

UNAUTHENTICATED: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid bearer token, or the user is disabled"}
}
DENIED: dict[int | str, dict[str, Any]] = {**UNAUTHENTICATED, 403: {"description": "The user's role is too low"}}


def _choice(values: tuple[str, ...]) -> str:
    return "^(" + "|".join(values) + ")$"


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int  # seconds


class Me(BaseModel):
    name: str
    role: str


class UserOut(BaseModel):
    name: str
    role: str
    disabled: bool
    created_at: datetime
    disabled_at: datetime | None


class CasePage(BaseModel):
    items: list[CasePublic]
    total: int
    limit: int
    offset: int


@router.post(
    "/auth/token",
    response_model=Token,
    openapi_extra=role("public"),
    responses={401: {"description": "Wrong user name or password"}, 429: {"description": "Too many failures"}},
)
def token(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
):
    """OAuth2 password flow: a bearer token for ``Authorization: Bearer <token>``."""
    address = request.client.host if request.client else "unknown"
    try:
        user = login(ctx, session, username, password, address)
    except TooManyAttempts as exc:
        return JSONResponse({"detail": str(exc)}, 429, headers={"Retry-After": str(exc.retry_after)})
    except WrongLogin:
        raise HTTPException(401, "wrong user name or password", headers={"WWW-Authenticate": "Bearer"}) from None
    seconds = int(ctx.settings.webapp.token_minutes * 60)
    return Token(access_token=tokens.issue(ctx.key, "api", seconds, uid=user.id, sub=user.name), expires_in=seconds)


@router.get("/me", response_model=Me, openapi_extra=role("agent"), responses=UNAUTHENTICATED)
def me(user: Agent):
    """Who the token belongs to."""
    return Me(name=user.name, role=user.role)


@router.get("/cases", response_model=CasePage, openapi_extra=role("agent"), responses=UNAUTHENTICATED)
def list_cases(
    user: Agent,
    session: SessionDep,
    line: Annotated[str | None, Query(pattern=_choice(LINES))] = None,
    status: Annotated[str | None, Query(pattern=_choice(STATUSES))] = None,
    since: Annotated[AwareDatetime | None, Query(alias="from", description="Received at or after (with zone)")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to", description="Received before (with zone)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
):
    """Cases newest first, each with its forwarding attempts; times in UTC."""
    found, total = cases.find_cases(
        session, line=line, status=status, since=since, until=until, limit=limit, offset=offset
    )
    return CasePage(
        items=[CasePublic.model_validate(c) for c in cases_as_dicts(session, found)],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/cases/{ticket}",
    response_model=CasePublic,
    openapi_extra=role("agent"),
    responses={**UNAUTHENTICATED, 404: {"description": "No case with that ticket"}},
)
def get_case(user: Agent, session: SessionDep, ticket: str):
    """One case with its attempts and its timeline of events."""
    try:
        return case_public(session, ticket, events=True)
    except cases.CaseNotFound:
        raise HTTPException(404, f"no case with ticket {ticket}") from None


@router.get("/users", response_model=list[UserOut], openapi_extra=role("admin"), responses=DENIED)
def users(user: Admin, session: SessionDep):
    """Every user, disabled ones included, by name."""
    return [UserOut.model_validate(u, from_attributes=True) for u in list_users(session)]
