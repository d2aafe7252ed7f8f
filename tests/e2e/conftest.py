"""One real system (Asterisk + call service) shared by the end-to-end tests of a module."""

from __future__ import annotations

import os
import shutil

import pytest

from app.asterisk import AsteriskNotFound, find_asterisk
from app.settings import Settings
from tests.e2e.system import System
from tests.support.parts import need
from tests.support.redis_server import BINARY, PrivateRedis


def _parts_available() -> bool:
    try:
        find_asterisk(Settings(profile="demo"))
    except AsteriskNotFound:
        return False
    try:
        import pjsua2  # noqa: F401
    except ImportError:
        return False
    return os.geteuid() == 0 and shutil.which("espeak-ng") is not None


def running_system(tmp_path_factory, name: str = "e2e", **options):
    """A started System for one test module (yielded), stopped and cleaned up afterwards."""
    need(_parts_available(), "Asterisk 22, pjsua2 and espeak-ng (run `make bootstrap`)")
    s = System(tmp_path_factory.mktemp(name), **options)
    try:
        s.start()
        yield s
    finally:
        s.stop()
        shutil.rmtree(s.asterisk.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A module's own redis-server (never the machine's shared one)."""
    need(BINARY is not None, "redis-server")
    server = PrivateRedis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    yield from running_system(tmp_path_factory)
