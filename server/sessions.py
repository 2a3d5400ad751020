"""Sign-in sessions of users and of conference-point kiosks.

A kernel module: accounts open sessions at sign-in, the network revokes a point's sessions
when its token rotates, and neither needs to import the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, utcnow
from server.tokens import csrf_token, new_session_token, token_hash


class AuthSession(Base):
    """A sign-in of a user, or of a conference point kiosk, identified by a bearer token."""

    __tablename__ = "auth_sessions"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (point_id IS NULL)", name="one_principal"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # sha256 of the token; the token lives only in the client.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    point_id: Mapped[int | None] = mapped_column(
        ForeignKey("conference_points.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    client_ip: Mapped[str] = mapped_column(String(64), default="")


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
) -> None:
    """Revoke every live session of a user or point (password change, rotation, disabling)."""
    query = update(AuthSession).where(AuthSession.revoked_at.is_(None))
    if user_id is not None:
        query = query.where(AuthSession.user_id == user_id)
    elif point_id is not None:
        query = query.where(AuthSession.point_id == point_id)
    else:
        raise ValueError("revoke_all needs a user_id or a point_id")
    await db.execute(query.values(revoked_at=utcnow()))


async def purge_sessions(db: AsyncSession, ended_before: datetime) -> int:
    """Delete sessions that expired or were revoked before ``ended_before``."""
    result = await db.execute(
        delete(AuthSession).where(
            (AuthSession.expires_at < ended_before) | (AuthSession.revoked_at < ended_before)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
