"""The demo profile's users, documented in the README, all with the well-known demo password.

Only the demo profile creates them (``siaga web --profile demo``, ``siaga users demo``);
outside it, or beyond loopback, that password is refused at login (``web.auth``).
"""

from __future__ import annotations

from sqlmodel import Session

from app.settings import DEMO_SECRET
from app.users.hashing import verify_password
from app.users.models import User
from app.users.service import create_user, get_user, list_users

DEMO_USERS = (
    ("agent-1", "agent"),
    ("agent-2", "agent"),
    ("agent-3", "agent"),
    ("agent-4", "agent"),
    ("supervisor-1", "supervisor"),
    ("admin", "admin"),
)


def ensure_demo_users(session: Session) -> list[str]:
    """Create the demo users that are missing; returns the names created."""
    created = []
    for name, role in DEMO_USERS:
        if get_user(session, name) is None:
            create_user(session, name, role, DEMO_SECRET, checked=False)
            created.append(name)
    return created


def with_demo_password(session: Session) -> list[User]:
    """Enabled users whose password is the demo password (a production start refuses while there are any)."""
    return [u for u in list_users(session) if not u.disabled and verify_password(u.password_hash, DEMO_SECRET)]
