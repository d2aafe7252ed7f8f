"""What every request of one web process shares, built once by ``web.main.create_app`` (the composition root)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app.directory.schema import Directory
from app.settings import Settings
from web.ratelimit import LoginLimiter


@dataclass
class WebContext:
    settings: Settings
    key: bytes  # signs tokens and cookies (web.secret)
    sessions: sessionmaker[Session]
    limiter: LoginLimiter
    directory: Directory | None = None  # the call-takers (agents:) have browser phones; None: unreadable
