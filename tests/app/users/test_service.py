"""Users in the database: names, roles and the password rule checked; hashes argon2id; disabled, never deleted."""

from __future__ import annotations

import pytest

from app import db
from app.settings import DEMO_SECRET
from app.users import service
from app.users.demo import DEMO_USERS, ensure_demo_users, with_demo_password
from app.users.models import at_least

STRONG = "kopi-Bali-7-ombak"


@pytest.fixture
def session(tmp_path):
    url = f"sqlite:///{tmp_path / 'siaga.db'}"
    db.migrate(url)
    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        yield session
    engine.dispose()


def test_a_user_is_stored_with_an_argon2id_hash_and_authenticates(session):
    user = service.create_user(session, "wayan", "agent", STRONG)
    assert user.password_hash.startswith("$argon2id$") and STRONG not in user.password_hash
    assert service.authenticate(session, "wayan", STRONG).name == "wayan"
    assert service.authenticate(session, "wayan", STRONG + "x") is None
    assert service.authenticate(session, "nobody", STRONG) is None


@pytest.mark.parametrize(
    ("name", "role", "password", "says"),
    [
        ("Wayan", "agent", STRONG, "is not a user name"),
        ("wayan", "root", STRONG, "no role 'root'"),
        ("wayan", "agent", DEMO_SECRET, "a well-known password"),
        ("wayan", "agent", "Admin-2024-12!", "a well-known password"),
        ("wayan", "agent", "wayan-kopi-bali-1", "contains the user name"),
    ],
)
def test_bad_names_roles_and_passwords_are_refused(session, name, role, password, says):
    with pytest.raises(service.UserProblem, match=says):
        service.create_user(session, name, role, password)
    assert service.list_users(session) == []


def test_a_disabled_user_stays_but_cannot_authenticate(session):
    service.create_user(session, "wayan", "admin", STRONG)
    assert service.disable_user(session, "wayan") and not service.disable_user(session, "wayan")
    [user] = service.list_users(session)
    assert user.disabled and user.disabled_at is not None
    assert service.authenticate(session, "wayan", STRONG) is None
    with pytest.raises(service.UserNotFound):
        service.disable_user(session, "nobody")


def test_roles_are_ordered():
    assert at_least("admin", "agent") and at_least("supervisor", "supervisor") and not at_least("agent", "supervisor")


def test_the_demo_users_are_created_once_and_found_by_their_password(session):
    assert ensure_demo_users(session) == [name for name, _ in DEMO_USERS]
    assert ensure_demo_users(session) == []
    assert {u.name for u in with_demo_password(session)} == {name for name, _ in DEMO_USERS}
    service.disable_user(session, "admin")
    assert "admin" not in {u.name for u in with_demo_password(session)}
