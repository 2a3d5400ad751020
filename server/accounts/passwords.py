"""Argon2id password hashing, run off the event loop (each hash costs tens of ms of CPU)."""

from __future__ import annotations

import functools
import secrets

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 10


@functools.cache
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so a miss costs as much as a wrong
    # password and does not tell which usernames exist.
    return _hasher.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; ``None`` (no such user) spends the same time and is always False."""
    if password_hash is None:
        await anyio.to_thread.run_sync(_verify, _dummy_hash(), password)
        return False
    return await anyio.to_thread.run_sync(_verify, password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
