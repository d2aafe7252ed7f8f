"""Fixtures for the Asterisk tests: a small directory, settings on free ports, real instances."""

from __future__ import annotations

import shutil

import pytest

from app.asterisk import AsteriskInstance
from app.directory.schema import Directory
from app.settings import Settings
from tests.app.asterisk.support import need_asterisk, settings_on_free_ports, small_directory


@pytest.fixture(scope="session")
def directory() -> Directory:
    return small_directory()


@pytest.fixture(autouse=True)
def private_secrets(tmp_path, monkeypatch):
    """Generated SIP passwords go to a temporary store, never to the checkout's var/secrets."""
    monkeypatch.setattr("app.asterisk.secrets.SECRETS_FILE", tmp_path / "secrets" / "sip-passwords.json")


@pytest.fixture
def make_instance(directory):
    """Build instances that are stopped and removed after the test, whatever happens."""
    need_asterisk()
    made: list[AsteriskInstance] = []

    def make(name: str, settings: Settings | None = None) -> AsteriskInstance:
        instance = AsteriskInstance(settings or settings_on_free_ports(), directory, name=f"test-{name}")
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.stop()
        shutil.rmtree(instance.dir, ignore_errors=True)
