"""Logging in, for the token endpoint and the login form alike: limits first, then the password.

The demo users' well-known password works only in the demo profile while the
web app listens on loopback; anywhere else it is a wrong password (and counted),
whatever the database holds, so a copied demo database is no way in.
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from app.passwords import is_loopback
from app.settings import DEMO_SECRET, Settings
from app.users.models import User
from app.users.service import authenticate
from web.context import WebContext

log = logging.getLogger("siaga.web.auth")


class WrongLogin(Exception):
    """Unknown user, wrong password or disabled user: the answer does not say which."""


class TooManyAttempts(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


def demo_password_allowed(settings: Settings) -> bool:
    return settings.demo and is_loopback(settings.webapp.host)


def login(ctx: WebContext, session: Session, name: str, password: str, address: str) -> User:
    wait = ctx.limiter.retry_after(name, address)
    if wait is not None:
        log.warning("login of %r from %s refused for %d s: too many failures", name, address, wait)
        raise TooManyAttempts(wait)
    user = authenticate(session, name, password)
    if user is not None and password == DEMO_SECRET and not demo_password_allowed(ctx.settings):
        log.warning(
            "login of %r from %s refused: the demo password outside the demo profile on loopback", name, address
        )
        user = None
    if user is None:
        ctx.limiter.failed(name, address)
        log.info("login of %r from %s failed", name, address)
        raise WrongLogin()
    ctx.limiter.succeeded(name)
    log.info("%s (%s) logged in from %s", user.name, user.role, address)
    return user
