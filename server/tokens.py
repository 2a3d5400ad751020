"""Bearer tokens (sessions, device tokens) and the CSRF token bound to a session.

Tokens are random and long, so a plain sha256 is enough to store them: the database never
holds a usable token, and a token can be looked up by its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_PREFIX = "hs_"
DEVICE_PREFIX = "hd_"
CALENDAR_PREFIX = "hc_"


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def new_device_token() -> str:
    return DEVICE_PREFIX + secrets.token_urlsafe(32)


def new_calendar_token() -> str:
    return CALENDAR_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(secret_key: str, session_token: str) -> str:
    """The CSRF token of a session: derived, so nothing more is stored."""
    return hmac.new(secret_key.encode(), b"csrf:" + session_token.encode(), "sha256").hexdigest()


def csrf_matches(secret_key: str, session_token: str, presented: str) -> bool:
    # Header values may hold any byte; compare_digest refuses non-ASCII str, so compare bytes.
    expected = csrf_token(secret_key, session_token).encode()
    return hmac.compare_digest(expected, presented.encode("utf-8", "surrogateescape"))
