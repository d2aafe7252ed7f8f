"""The health server leaves SIGINT and SIGTERM to the service, which hands callers over before it goes."""

from __future__ import annotations

import asyncio
import signal
import socket

from fastapi import FastAPI

from ivr.service import health_server
from tests.support.waiting import eventually


async def test_serving_health_does_not_take_the_services_signal_handlers():
    mine = signal.getsignal(signal.SIGTERM)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = health_server(FastAPI(), "127.0.0.1", port)
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started, 10, "the health server to start")
        assert signal.getsignal(signal.SIGTERM) is mine and signal.getsignal(signal.SIGINT) is not server.handle_exit
    finally:
        server.should_exit = True
        await task
