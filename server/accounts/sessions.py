"""Sign-in sessions: opened at login, looked up by token hash, revoked at logout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import AuthSession
from server.db import utcnow
from server.tokens import csrf_token, new_session_token, token_hash


@dataclass(frozen=True)
class IssuedSession:
    """A new session as the client sees it, once: the token is not stored anywhere."""

    id: int
    token: str
    csrf_token: str
    expires_at: datetime


async def open_session(
    db: AsyncSession,
    *,
    secret_key: str,
    lifetime: timedelta,
    user_id: int | None = None,
    point_id: int | None = None,
    user_agent: str = "",
    client_ip: str = "",
) -> IssuedSession:
    token = new_session_token()
    now = utcnow()
    row = AuthSession(
        token_hash=token_hash(token),
        user_id=user_id,
        point_id=point_id,
        created_at=now,
        expires_at=now + lifetime,
        user_agent=user_agent[:300],
        client_ip=client_ip[:64],
    )
    db.add(row)
    await db.flush()
    return IssuedSession(row.id, token, csrf_token(secret_key, token), row.expires_at)


async def revoke_session(db: AsyncSession, session_id: int) -> None:
    await db.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_all(
    db: AsyncSession,
    *,
    user_id: int | None = None,
    point_id: int | None = None,
    keep_session_id: int | None = None,
) -> None:
    """Revoke every live session of a user or point (password change, rotation, disabling)."""
    query = update(AuthSession).where(AuthSession.revoked_at.is_(None))
    if user_id is not None:
        query = query.where(AuthSession.user_id == user_id)
    elif point_id is not None:
        query = query.where(AuthSession.point_id == point_id)
    else:
        raise ValueError("revoke_all needs a user_id or a point_id")
    if keep_session_id is not None:
        query = query.where(AuthSession.id != keep_session_id)
    await db.execute(query.values(revoked_at=utcnow()))
