"""Users of the web app and their roles.

A user is never deleted, only disabled: the audit log and, later, the cases
a call-taker handled keep naming them. Roles are ordered; a route names the
lowest role it admits (``at_least``).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.db import UtcDateTime

ROLES = ("agent", "supervisor", "admin")  # lowest first
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"  # what people type at a login prompt: lower case, no spaces


def at_least(role: str, lowest: str) -> bool:
    """Whether ``role`` may do what ``lowest`` may do."""
    return ROLES.index(role) >= ROLES.index(lowest)


class UserBase(SQLModel):
    name: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    disabled: bool = False
    created_at: datetime = Field(sa_type=UtcDateTime())


class User(UserBase, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=255)
    disabled_at: datetime | None = Field(default=None, sa_type=UtcDateTime())


class UserPublic(UserBase):
    disabled_at: datetime | None = None
