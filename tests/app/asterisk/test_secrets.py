"""SIP endpoint passwords per profile."""

from __future__ import annotations

import stat

from app.asterisk import endpoint_password, secrets
from app.settings import DEMO_SECRET, Settings


def test_demo_profile_gives_every_endpoint_the_demo_password():
    settings = Settings.load(profile="demo")
    assert endpoint_password(settings, "operator-1") == endpoint_password(settings, "amb-kuta-1") == DEMO_SECRET


def test_production_generates_one_strong_password_per_endpoint_once():
    settings = Settings.load(profile="production")
    first = endpoint_password(settings, "operator-1")
    assert len(first) >= 24 and first != DEMO_SECRET
    assert endpoint_password(settings, "operator-2") != first
    assert endpoint_password(settings, "operator-1") == first  # kept, not regenerated
    assert stat.S_IMODE(secrets.SECRETS_FILE.stat().st_mode) == 0o600


def test_a_configured_endpoint_password_is_used_as_is():
    settings = Settings.load(profile="production", sip={"endpoint_password": "configured-Secret-42"})
    assert endpoint_password(settings, "operator-1") == "configured-Secret-42"
    assert not secrets.SECRETS_FILE.exists()
