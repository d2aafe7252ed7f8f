"""The password rule, and which listeners only this machine can reach.

Principle: a password that guards something reachable from the network must be
one nobody can guess: at least 12 characters, at least 6 different ones, with
letters, not built on a well-known word (``Password2024!`` is "password" with
digits and signs around it) and not containing the user name. A generated
password (``openssl rand -base64 18``, or the SIP passwords Siaga generates)
passes. Pure functions: ``Settings.check_secrets`` decides when the rule applies.
"""

from __future__ import annotations

import ipaddress
import re

MIN_LENGTH = 12
MIN_DIFFERENT = 6
RULE = (
    f"at least {MIN_LENGTH} characters, {MIN_DIFFERENT} of them different, with letters, "
    "no well-known word, not containing the user name"
)
# Compared with the password's letters alone, lower-cased: "Admin-2024!" is "admin".
WELL_KNOWN = frozenset(
    {
        "siagademo",
        "siaga",
        "admin",
        "administrator",
        "password",
        "passwd",
        "pass",
        "secret",
        "changeme",
        "asterisk",
        "default",
        "letmein",
        "qwerty",
        "welcome",
        "root",
        "operator",
    }
)


def weakness(password: str, user: str | None = None) -> str | None:
    """Why ``password`` breaks the rule, or None when it passes."""
    letters = re.sub(r"[^a-z]", "", password.lower())
    if letters and (letters in WELL_KNOWN or _repeats_one_of(letters, WELL_KNOWN)):
        return "a well-known password"
    if len(password) < MIN_LENGTH:
        return f"shorter than {MIN_LENGTH} characters"
    if len(set(password)) < MIN_DIFFERENT:
        return f"fewer than {MIN_DIFFERENT} different characters"
    if not letters:  # 123456789012, 2024-12-31-23
        return "no letters"
    if user and user.lower() in password.lower():
        return f"contains the user name '{user}'"
    return None


def is_loopback(host: str) -> bool:
    """Whether a bind address is reachable from this machine only (``0.0.0.0`` and names are not)."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _repeats_one_of(letters: str, words: frozenset[str]) -> bool:
    """``adminadmin``, ``passwordpassword``: a well-known word said twice is no better."""
    return any(len(letters) % len(w) == 0 and letters == w * (len(letters) // len(w)) for w in words)
