"""Password hashing with argon2id, slow on purpose because people choose passwords.

A sign-in for a user that does not exist verifies against `DUMMY_HASH`, made with
the same parameters as real hashes, so it costs the same work as a wrong password
and the response time does not tell which names exist.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Literal

from argon2 import Parameters, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane); also what `corestore` stores.
PARAMETERS = Parameters(
    type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=2, memory_cost=19 * 1024, parallelism=1
)
HASHER = PasswordHasher.from_parameters(PARAMETERS)
DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(32))


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True only for the right password; no hash (unknown user) costs a full verification too."""
    if password_hash is None:
        return verify_unknown_user(password)
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_unknown_user(password: str) -> Literal[False]:
    """Spend a real verification's work on `DUMMY_HASH`, then refuse."""
    with contextlib.suppress(VerificationError):
        HASHER.verify(DUMMY_HASH, password)
    return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash predates `PARAMETERS` (rehash after a successful sign-in)."""
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
