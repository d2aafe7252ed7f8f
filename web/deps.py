"""Dependencies of the routes: the database session, and the user a request comes from, at a role or above.

The API takes bearer tokens only and the pages the session cookie only, so a
page's cookie can never be used to call the API from another site. Each route
states its lowest role twice: in its dependency (``Agent``, ``Admin``...) and in
the OpenAPI document (``role("agent")``); the role walk test checks that they agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from app.directory.schema import Directory
from app.users.models import ROLES, User, at_least
from app.users.service import get_user_by_id
from web import tokens
from web.context import WebContext

SESSION_COOKIE = "siaga_session"
LOGIN_COOKIE = "siaga_login"  # the login form's CSRF token, before there is a session
PUBLIC = "public"
ROLE_KEY = "x-siaga-role"

bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


def role(lowest: str) -> dict[str, Any]:
    """``openapi_extra`` for a route: the lowest role it admits (or ``PUBLIC``)."""
    assert lowest in (*ROLES, PUBLIC)
    return {ROLE_KEY: lowest}


def context(request: Request) -> WebContext:
    return request.app.state.ctx


ContextDep = Annotated[WebContext, Depends(context)]


def db_session(ctx: ContextDep) -> Iterator[Session]:
    with ctx.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session)]


def directory(ctx: ContextDep) -> Directory:
    """The directory the web app read at its start (``web.main``: as the call service does; a changed file
    is read again when the web app restarts), or 503 for the routes that need it when it could not."""
    if ctx.directory is None:
        raise HTTPException(503, f"the directory {ctx.settings.directory} cannot be read (the web app's log says why)")
    return ctx.directory


DirectoryDep = Annotated[Directory, Depends(directory)]


def _user(ctx: WebContext, session: Session, claims: dict[str, Any] | None) -> User | None:
    """The enabled user a token names (by id and name: a re-used name is another user)."""
    if claims is None or not isinstance(claims.get("uid"), int):
        return None
    user = get_user_by_id(session, claims["uid"])
    return user if user is not None and not user.disabled and user.name == claims.get("sub") else None


def api_user(lowest: str) -> Callable[..., User]:
    def dependency(ctx: ContextDep, session: SessionDep, token: Annotated[str | None, Depends(bearer)]) -> User:
        user = _user(ctx, session, tokens.read(ctx.key, "api", token))
        if user is None:
            raise HTTPException(401, "not authenticated", headers={"WWW-Authenticate": "Bearer"})
        if not at_least(user.role, lowest):
            raise HTTPException(403, f"needs the {lowest} role or above")
        return user

    return dependency


Agent = Annotated[User, Depends(api_user("agent"))]
Supervisor = Annotated[User, Depends(api_user("supervisor"))]
Admin = Annotated[User, Depends(api_user("admin"))]


class LoginRequired(Exception):
    """No valid session: the page answers with a redirect to the login form (``web.main``)."""

    def __init__(self, then: str) -> None:
        self.then = then


@dataclass(frozen=True)
class PageUser:
    user: User
    csrf: str  # the session's CSRF token, put in every form of its pages


def page_user(lowest: str) -> Callable[..., PageUser]:
    def dependency(request: Request, ctx: ContextDep, session: SessionDep) -> PageUser:
        claims = tokens.read(ctx.key, "session", request.cookies.get(SESSION_COOKIE))
        user = _user(ctx, session, claims)
        if user is None or claims is None or not isinstance(claims.get("csrf"), str):
            raise LoginRequired(request.url.path)
        if not at_least(user.role, lowest):
            raise HTTPException(403, f"needs the {lowest} role or above")
        return PageUser(user, claims["csrf"])

    return dependency


AgentPage = Annotated[PageUser, Depends(page_user("agent"))]
