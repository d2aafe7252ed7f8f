"""Shared test helpers.

Tests that need a real part (Asterisk, PostgreSQL, Redis, Chromium) call
``need(...)``: in CI (``CI=true``) a missing part is a failure, locally it is
a skip with a message saying what to start.
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(available: bool, what: str) -> None:
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI and is missing", pytrace=False)
    pytest.skip(f"{what} is not available here ({'run make test to provision it'})")
