"""``siaga web`` as a real process on a free port, on a throwaway SQLite database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app import db
from tests.support.waiting import until

SIAGA = Path(sys.executable).parent / "siaga"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def web_env(folder: Path) -> dict[str, str]:
    """The environment of a ``siaga web`` with its own migrated database, port and key file under ``folder``."""
    url = f"sqlite:///{folder / 'siaga.db'}"
    db.migrate(url)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SIAGA_") and k != "DATABASE_URL"}
    return {
        **clean,
        "DATABASE_URL": url,
        "SIAGA_WEBAPP__PORT": str(free_port()),
        "SIAGA_WEBAPP__SECRET_FILE": str(folder / "secrets" / "web-secret"),
    }


def _answer(base: str) -> httpx.Response | None:
    try:
        return httpx.get(f"{base}/login", timeout=1)
    except httpx.TransportError:
        return None


@contextmanager
def running_web(env: dict[str, str], *argv: str) -> Iterator[str]:
    """Start ``siaga web *argv``, wait until it answers, yield its base URL; stop it after."""
    base = f"http://127.0.0.1:{env['SIAGA_WEBAPP__PORT']}"
    process = subprocess.Popen([str(SIAGA), "web", *argv], env=env, stderr=subprocess.PIPE, text=True)
    try:
        until(lambda: process.poll() is not None or _answer(base), 30, "siaga web to answer")
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        yield base
    finally:
        process.terminate()
        process.wait(15)
