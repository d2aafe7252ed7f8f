"""Reading and writing users. Database only; the CLI and the web app decide what to record and show."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from app.clock import utc_text, utcnow
from app.db import begin_write
from app.passwords import RULE, weakness
from app.users.hashing import hash_password, verify_password
from app.users.models import NAME_PATTERN, ROLES, User


class UserProblem(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


class UserNotFound(LookupError):
    pass


def check_name(name: str) -> str:
    if not re.fullmatch(NAME_PATTERN, name):
        raise UserProblem(f"{name!r} is not a user name (lower-case letters, digits, '.', '_', '-'; at most 64)")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserProblem(f"there is no role {role!r} (roles: {', '.join(ROLES)})")
    return role


def check_password(name: str, password: str) -> str:
    why = weakness(password, name)
    if why is not None:
        raise UserProblem(f"password refused: {why} (the rule: {RULE})")
    return password


def create_user(session: Session, name: str, role: str, password: str, *, checked: bool = True) -> User:
    """Add a user; ``checked=False`` skips the password rule (the demo users only, see ``app.users.demo``)."""
    check_name(name)
    check_role(role)
    if checked:
        check_password(name, password)
    begin_write(session)
    if get_user(session, name) is not None:
        session.rollback()
        raise UserProblem(f"user {name!r} already exists")
    user = User(name=name, role=role, password_hash=hash_password(password), created_at=utcnow())
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def disable_user(session: Session, name: str) -> bool:
    """Disable ``name``; False when it already was. Its sessions and tokens stop working at once."""
    begin_write(session)
    user = get_user(session, name)
    if user is None:
        session.rollback()
        raise UserNotFound(f"no user {name!r}")
    if user.disabled:
        session.rollback()
        return False
    user.disabled, user.disabled_at = True, utcnow()
    session.add(user)
    session.commit()
    return True


def get_user(session: Session, name: str) -> User | None:
    return session.exec(select(User).where(User.name == name)).first()


def get_user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.name))))


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The enabled user with that name and password, or None (always costs one hash check)."""
    user = get_user(session, name)
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user is not None and not user.disabled else None


def user_as_dict(user: User) -> dict:
    return {
        "name": user.name,
        "role": user.role,
        "disabled": user.disabled,
        "created_at": utc_text(user.created_at),
        "disabled_at": utc_text(user.disabled_at),
    }
