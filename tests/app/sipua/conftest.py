"""Fixtures for the SIP user-agent tests: real pjsua2 peers talking over loopback."""

from __future__ import annotations

import importlib.util

import pytest

from tests.support.parts import need


@pytest.fixture
def pjsua2() -> None:
    need(importlib.util.find_spec("pjsua2") is not None, "pjsua2 (pip install pjsua2-python)")
