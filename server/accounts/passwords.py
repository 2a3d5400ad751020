"""Argon2id password hashing, run off the event loop (each hash costs tens of ms of CPU)."""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import weakref

import anyio
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


# Each hash keeps ~1.5 cores busy for ~130 ms (4 lanes). Hashing more at once only makes
# every sign-in slower and starves the event loop thread of CPU, so a sign-in rush queues
# here instead, one loop's worth at a time.
HASHES_AT_ONCE = max(1, (os.cpu_count() or 2) // 2)
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def _limiter() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    if loop not in _limiters:
        _limiters[loop] = anyio.CapacityLimiter(HASHES_AT_ONCE)
    return _limiters[loop]


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password, limiter=_limiter())


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; ``None`` (no such user) spends the same time and is always False."""
    if password_hash is None:
        # _dummy_hash() hashes on first use: let that happen in the worker thread too.
        await anyio.to_thread.run_sync(lambda: _verify(_dummy_hash(), password), limiter=_limiter())
        return False
    return await anyio.to_thread.run_sync(_verify, password_hash, password, limiter=_limiter())


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
