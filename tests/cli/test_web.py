"""``siaga web`` as a real process: it serves on its port and a demo user logs in over HTTP; it refuses
to start with the demo password where that password is not allowed."""

from __future__ import annotations

import stat
import subprocess

import httpx
import pytest

from app.settings import DEMO_SECRET
from tests.support.webapp import SIAGA, running_web, web_env


@pytest.fixture
def env(tmp_path):
    return web_env(tmp_path)


def test_siaga_web_serves_and_a_demo_user_logs_in_over_http(env, tmp_path):
    with running_web(env, "--profile", "demo") as base:
        token = httpx.post(f"{base}/api/auth/token", data={"username": "agent-1", "password": DEMO_SECRET}).json()
        me = httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {token['access_token']}"})
        assert me.json() == {"name": "agent-1", "role": "agent"}
        assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "Siaga"
        secret = tmp_path / "secrets" / "web-secret"
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and len(secret.read_text().strip()) >= 48


@pytest.mark.parametrize(
    ("argv", "extra", "says"),
    [
        (["web"], {}, "users admin, agent-1"),
        (["web", "--profile", "demo"], {"SIAGA_WEBAPP__HOST": "0.0.0.0"}, "not loopback"),
        (["web"], {"SIAGA_WEBAPP__SECRET": "too-short"}, "SIAGA_WEBAPP__SECRET: shorter than 32 characters"),
    ],
    ids=["production-with-demo-users", "demo-beyond-loopback", "short-secret"],
)
def test_siaga_web_refuses_to_start_with_a_guessable_password_or_secret(env, argv, extra, says):
    created = subprocess.run(
        [str(SIAGA), "users", "demo", "--profile", "demo"], env=env, capture_output=True, text=True, timeout=60
    )
    assert created.returncode == 0, created.stderr
    done = subprocess.run([str(SIAGA), *argv], env={**env, **extra}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("siaga: ") and says in done.stderr, done.stderr


def test_siaga_web_refuses_a_database_behind_its_migrations(tmp_path):
    from alembic import command

    from app import db

    env = web_env(tmp_path)  # migrated to head; taken back one revision
    engine = db.make_engine(env["DATABASE_URL"])
    with engine.begin() as connection:
        command.downgrade(db._alembic_config(connection), "-1")
    engine.dispose()
    done = subprocess.run([str(SIAGA), "web"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "run `siaga db upgrade`" in done.stderr and "Traceback" not in done.stderr
