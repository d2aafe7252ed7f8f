"""The call service's internal channel as a real HTTP server, without Asterisk: its real router and board.

For tests of the web app's agent routes: the web app talks HTTP to it exactly as to ``siaga
call-service``; the board holds the demo directory's agents, whose phones a test can mark registered.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from app import paths
from app.clock import utcnow
from app.directory.loader import load_directory
from ivr.agents.board import AgentBoard
from ivr.agents.commands import internal_router
from ivr.health import health_app
from tests.support.waiting import until
from tests.support.webapp import free_port

SECRET = "internal-test-secret-" + "x" * 24


@dataclass
class Internal:
    port: int
    board: AgentBoard

    def register(self, name: str, kind: str = "sip") -> None:
        self.board.phone(name, kind, True, utcnow())

    def settings(self) -> dict:
        """Settings overrides pointing a web app at this server."""
        return {"web": {"host": "127.0.0.1", "port": self.port}, "internal": {"secret": SECRET}}


@contextmanager
def internal_channel() -> Iterator[Internal]:
    directory = load_directory(paths.DEMO_DIRECTORY)
    board = AgentBoard(((a.name, a.languages) for a in directory.agents), wrapup_seconds=30)
    port = free_port()
    app = health_app(
        lambda: {"status": "ok", "ari": "test", "calls": 0, "profile": "test"},
        (internal_router(SECRET.encode(), board, lambda ticket: None),),
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    until(lambda: server.started, 10, what="internal channel server started")
    try:
        yield Internal(port, board)
    finally:
        server.should_exit = True
        thread.join(timeout=5)
