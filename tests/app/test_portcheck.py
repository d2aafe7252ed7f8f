"""A second `make run` stops at once, naming what holds the ports (app/portcheck.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from app import portcheck

ROOT = Path(__file__).resolve().parents[2]


def taken(kind: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind(("127.0.0.1", 0))
    if kind == socket.SOCK_STREAM:
        sock.listen()
    return sock


def test_free_ports_say_nothing():
    with taken(socket.SOCK_STREAM) as probe:
        port = probe.getsockname()[1]
    env = {
        "SIAGA_SIP__PORT": str(port),
        "SIAGA_ARI__PORT": str(port),
        "SIAGA_WEB__PORT": str(port),
        "SIAGA_WEBAPP__PORT": str(port),
    }
    assert portcheck.busy(env) == []


def test_a_held_port_is_named_with_the_process_that_holds_it():
    with taken(socket.SOCK_DGRAM) as sip, taken(socket.SOCK_STREAM) as ari:
        env = {
            "SIAGA_SIP__PORT": str(sip.getsockname()[1]),
            "SIAGA_ARI__PORT": str(ari.getsockname()[1]),
            "SIAGA_WEB__PORT": "0",
            "SIAGA_WEBAPP__PORT": "0",
        }
        found = portcheck.busy(env)
    me = f"(pid {os.getpid()})"
    assert len(found) == 2
    assert found[0].startswith(f"SIP port 127.0.0.1:{env['SIAGA_SIP__PORT']}/udp is held by ") and me in found[0]
    assert found[1].startswith(f"Asterisk HTTP/ARI port 127.0.0.1:{env['SIAGA_ARI__PORT']}/tcp") and me in found[1]


def test_run_as_make_run_does_before_bootstrap_one_line_and_exit_1():
    """Standard library only: `make run` calls it with the system python3, before any venv exists."""
    with taken(socket.SOCK_STREAM) as web:
        env = {
            **os.environ,
            "SIAGA_WEB__PORT": str(web.getsockname()[1]),
            "SIAGA_SIP__PORT": "0",
            "SIAGA_ARI__PORT": "0",
        }
        done = subprocess.run(
            ["python3", "-I", str(ROOT / "app/portcheck.py")], env=env, capture_output=True, text=True
        )
    assert done.returncode == 1
    assert done.stdout.startswith("siaga: cannot start: health endpoint port") and done.stdout.count("\n") == 1
    assert "Is `make run` already running?" in done.stdout
    assert sys.executable  # the venv's python is not needed
