"""The JSON API under /api: bearer tokens (OAuth2 password flow), then cases and users by role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlmodel import Session

from app.cases import service as cases
from app.cases import work
from app.cases.callers import is_ticket
from app.cases.models import LINES, STATUSES, WORKFLOWS, CaseEventPublic, CasePublic
from app.cases.views import case_public, cases_as_dicts
from app.users.models import NAME_PATTERN
from app.users.service import list_users
from web import tokens
from web.auth import TooManyAttempts, WrongLogin, login
from web.context import WebContext
from web.deps import Admin, Agent, ContextDep, DirectoryDep, SessionDep, role

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


class CaseDetail(CasePublic):
    history: work.CallerHistory  # the earlier calls from the caller's number


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=work.NOTE_CHARS)


class ClassificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    classification: str = Field(max_length=32, description="One of GET /api/settings/classifications")


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str | None = Field(None, max_length=32, description="A category of the case's line")
    district: str | None = Field(None, max_length=32)


CLASSIFICATION = "^[a-z0-9][a-z0-9-]*$"  # as app.settings.CasesSettings admits them
ACTION: dict[int | str, dict[str, Any]] = {
    **UNAUTHENTICATED,
    404: {"description": "No case with that ticket"},
    409: {"description": "The case is taken by another agent, closed, or its call is still on"},
    422: {"description": "Malformed input, or a value the rules refuse (the reason says which)"},
}


@contextmanager
def _answers(ticket: str) -> Iterator[None]:
    """The domain's refusals as HTTP answers: an unknown ticket 404, a conflict 409, a broken rule 422."""
    try:
        yield
    except cases.CaseNotFound:
        raise HTTPException(404, f"no case with ticket {ticket}") from None
    except work.CaseConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except work.CaseRuleError as exc:
        raise HTTPException(422, str(exc)) from None


def _detail(ctx: WebContext, session: Session, ticket: str) -> CaseDetail:
    if not is_ticket(ticket):
        raise cases.CaseNotFound(ticket)
    case = case_public(session, ticket, events=True)
    history = work.caller_history(session, case.caller_number, case.received_at, settings=ctx.settings.cases)
    return CaseDetail.model_validate({**case.model_dump(), "history": history})


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
    agent: Annotated[str | None, Query(pattern=NAME_PATTERN, description="The call-taker who took it")] = None,
    classification: Annotated[str | None, Query(pattern=CLASSIFICATION, max_length=32)] = None,
    workflow: Annotated[str | None, Query(pattern=_choice(WORKFLOWS))] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
):
    """Cases newest first, each with its forwarding attempts; times in UTC."""
    found, total = cases.find_cases(
        session,
        line=line,
        status=status,
        since=since,
        until=until,
        agent=agent,
        classification=classification,
        workflow=workflow,
        limit=limit,
        offset=offset,
    )
    return CasePage(
        items=[CasePublic.model_validate(c) for c in cases_as_dicts(session, found)],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/cases/{ticket}",
    response_model=CaseDetail,
    openapi_extra=role("agent"),
    responses={**UNAUTHENTICATED, 404: {"description": "No case with that ticket"}},
)
def get_case(user: Agent, ctx: ContextDep, session: SessionDep, ticket: str):
    """One case with its attempts, its timeline of events and the earlier calls from its number."""
    with _answers(ticket):
        return _detail(ctx, session, ticket)


# A call-taker's actions: each is a case event naming the user. An agent acts only on a case nobody has
# taken or that they took; supervisors and admins on any (app.cases.work).
@router.post(
    "/cases/{ticket}/notes",
    status_code=201,
    response_model=CaseEventPublic,
    openapi_extra=role("agent"),
    responses=ACTION,
)
def add_note(user: Agent, session: SessionDep, ticket: str, note: NoteIn):
    """Add a note to the case's timeline (notes are never changed or removed)."""
    with _answers(ticket):
        event = work.add_note(session, ticket, user.name, note.text, role=user.role)
        return CaseEventPublic.model_validate(event, from_attributes=True)


@router.post("/cases/{ticket}/classification", response_model=CaseDetail, openapi_extra=role("agent"), responses=ACTION)
def classify(user: Agent, ctx: ContextDep, session: SessionDep, ticket: str, body: ClassificationIn):
    """Classify the case; a prank that brings its number to the threshold flags it (``caller.flagged``)."""
    with _answers(ticket):
        work.classify(session, ticket, user.name, body.classification, settings=ctx.settings.cases, role=user.role)
        return _detail(ctx, session, ticket)


@router.post("/cases/{ticket}/corrections", response_model=CaseDetail, openapi_extra=role("agent"), responses=ACTION)
def correct(
    user: Agent, ctx: ContextDep, session: SessionDep, directory: DirectoryDep, ticket: str, body: CorrectionIn
):
    """Correct the category or district the IVR recorded, to one the directory has."""
    with _answers(ticket):
        work.correct(session, ticket, user.name, body.category, body.district, directory=directory, role=user.role)
        return _detail(ctx, session, ticket)


@router.post("/cases/{ticket}/close", response_model=CaseDetail, openapi_extra=role("agent"), responses=ACTION)
def close(user: Agent, ctx: ContextDep, session: SessionDep, ticket: str):
    """Close the case once its call has ended (the last step of its workflow)."""
    with _answers(ticket):
        work.close(session, ticket, user.name, role=user.role)
        return _detail(ctx, session, ticket)


@router.get(
    "/settings/classifications", response_model=list[str], openapi_extra=role("agent"), responses=UNAUTHENTICATED
)
def classifications(user: Agent, ctx: ContextDep):
    """The classifications a case may be given (``cases.classifications``), in their configured order."""
    return ctx.settings.cases.classifications


@router.get("/users", response_model=list[UserOut], openapi_extra=role("admin"), responses=DENIED)
def users(user: Admin, session: SessionDep):
    """Every user, disabled ones included, by name."""
    return [UserOut.model_validate(u, from_attributes=True) for u in list_users(session)]
