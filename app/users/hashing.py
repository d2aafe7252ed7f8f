"""Password hashes: argon2id through argon2-cffi, with its recommended parameters.

A check against a user that does not exist still costs one hash, so the time
a wrong login takes does not tell which user names exist.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_NOBODY = _hasher.hash("no user has this password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (None: a user that does not exist, always False)."""
    try:
        return _hasher.verify(stored or _NOBODY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
