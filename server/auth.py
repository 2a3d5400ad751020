"""Who is calling: bearer token or session cookie -> Principal; role checks; CSRF.

A bearer token is a session token (``hs_``) or a conference point's device token (``hd_``).
Requests authenticated by the session cookie must also send the CSRF token in
``X-CSRF-Token`` for unsafe methods: a browser sends the cookie on its own, the header only
when our own page's script adds it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, NamedTuple, Protocol
from weakref import WeakKeyDictionary

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from starlette.requests import HTTPConnection

from server.accounts.models import User
from server.db import Database, utcnow
from server.deps import ReadDB, get_database, get_settings
from server.identity import Principal, PrincipalKind, Role
from server.network.models import ConferencePoint
from server.network.service import point_by_device_token
from server.problems import Problem
from server.sessions import AuthSession
from server.tokens import DEVICE_PREFIX, csrf_matches, token_hash

SESSION_COOKIE = "hoinghi_session"
CSRF_COOKIE = "hoinghi_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A point's last_seen_at is written at most this often, not on every request.
LAST_SEEN_RESOLUTION = timedelta(seconds=15)

bearer_scheme = HTTPBearer(auto_error=False, description="session token or device token")
cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False)


def _unauthenticated(code: str, detail: str) -> Problem:
    return Problem(401, code, detail, headers={"WWW-Authenticate": "Bearer"})


async def authenticate(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
    db: ReadDB,
) -> Principal:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    if bearer is not None:
        token, from_cookie = bearer.credentials, False
    elif cookie:
        token, from_cookie = cookie, True
    else:
        raise _unauthenticated("not_authenticated", "sign in first")

    if token.startswith(DEVICE_PREFIX) and from_cookie:
        raise _unauthenticated("invalid_token", "device tokens go in the Authorization header")
    principal = await principal_from_token(request, db, token)

    if from_cookie and request.method not in SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER, "")
        if not presented or not csrf_matches(get_settings(request).secret_key, token, presented):
            raise Problem(403, "csrf_failed", f"missing or wrong {CSRF_HEADER} header")

    request.state.principal = principal
    request.state.session_token = token
    # End the read transaction now: a route that writes would otherwise hold this pooled
    # connection while it waits for another, and enough such requests exhaust the pool.
    await db.commit()
    return principal


async def principal_from_token(conn: HTTPConnection, db: AsyncSession, token: str) -> Principal:
    """The user or point a session token or device token stands for; a 401 problem if none."""
    if token.startswith(DEVICE_PREFIX):
        return await _point_by_device_token(conn, db, token)
    return await _principal_by_session(conn, db, token)


async def socket_principal(conn: HTTPConnection, database: Database, token: str) -> Principal:
    """``principal_from_token`` for a room socket, which leaves recording that a point was
    seen to the presence recorder (it writes in batches).

    A join storm is a thousand device-token lookups at once, so they are lean: on SQLite,
    one call on the driver's thread (a single SELECT is a transaction by itself) instead of
    the eight an ORM query takes there (BEGIN, cursor, execute, fetch, close, ROLLBACK: each
    a hand-over to the driver's thread and back); elsewhere, a plain connection and a
    statement built once.
    """
    if not token.startswith(DEVICE_PREFIX):
        async with database.reader() as db:
            return await _principal_by_session(conn, db, token, touch=False)
    hashed = token_hash(token)
    row: _PointRow | Row[int, str, int, bool] | None
    async with _lookup_slots(database), database.engine.connect() as connection:
        if database.is_sqlite:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            rows = list(await driver.execute_fetchall(_SQLITE_POINT_BY_TOKEN, (hashed,)))
            row = _PointRow(*rows[0]) if rows else None
        else:
            found = await connection.execute(_POINT_BY_TOKEN, {"token_hash": hashed})
            row = found.one_or_none()
    if row is None:
        raise _unauthenticated("invalid_token", "unknown device token")
    if not row.enabled:
        raise _unauthenticated("point_disabled", "this conference point is disabled")
    return _point_principal(row, session_id=None)


# Only the columns a principal needs, no ORM object.
_POINT_BY_TOKEN = select(
    ConferencePoint.id, ConferencePoint.name, ConferencePoint.unit_id, ConferencePoint.enabled
).where(ConferencePoint.token_hash == bindparam("token_hash"))
_SQLITE_POINT_BY_TOKEN = str(_POINT_BY_TOKEN.compile(dialect=sqlite.dialect()))


# Socket lookups in flight at once, per database: fewer than the pool keeps open. Past
# that the pool opens overflow connections and closes them again as they come back; on
# SQLite each one is a new driver thread, file handle and schema read, and in a join storm
# that churn (40-odd connections) cost more than the lookups themselves.
_lookups: WeakKeyDictionary[Database, asyncio.Semaphore] = WeakKeyDictionary()


def _lookup_slots(database: Database) -> asyncio.Semaphore:
    slots = _lookups.get(database)
    if slots is None:
        size = getattr(database.engine.sync_engine.pool, "size", None)
        kept = size() if callable(size) else 5
        slots = _lookups[database] = asyncio.Semaphore(max(1, kept - 1))
    return slots


class _PointRow(NamedTuple):
    id: int
    name: str
    unit_id: int
    enabled: bool


async def _principal_by_session(
    request: HTTPConnection, db: AsyncSession, token: str, touch: bool = True
) -> Principal:
    # One round trip: the session with its user (and the user's roles) or its point.
    query = (
        select(AuthSession, User, ConferencePoint)
        .outerjoin(User, User.id == AuthSession.user_id)
        .outerjoin(ConferencePoint, ConferencePoint.id == AuthSession.point_id)
        .options(joinedload(User.role_rows))
        .where(AuthSession.token_hash == token_hash(token))
    )
    found = (await db.execute(query)).unique().one_or_none()
    if found is None or found[0].revoked_at is not None:
        raise _unauthenticated("invalid_token", "the session is not valid; sign in again")
    session, user, point = found
    if session.expires_at <= utcnow():
        raise _unauthenticated("session_expired", "the session has expired; sign in again")
    if session.user_id is not None:
        if user is None or not user.active:
            raise _unauthenticated("account_disabled", "this account is disabled")
        return Principal(
            kind=PrincipalKind.USER,
            id=user.id,
            name=user.username,
            unit_id=user.unit_id,
            roles=user.roles,
            session_id=session.id,
            display_name=user.full_name,
        )
    if point is None or not point.enabled:
        raise _unauthenticated("point_disabled", "this conference point is disabled")
    if touch:
        await _touch_point(request, db, point)
    return _point_principal(point, session_id=session.id)


async def _point_by_device_token(
    request: HTTPConnection, db: AsyncSession, token: str
) -> Principal:
    point = await point_by_device_token(db, token, with_unit=False)
    await _touch_point(request, db, point)
    return _point_principal(point, session_id=None)


class _PointColumns(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def unit_id(self) -> int: ...


def _point_principal(point: _PointColumns, session_id: int | None) -> Principal:
    return Principal(
        kind=PrincipalKind.POINT,
        id=point.id,
        name=point.name,
        unit_id=point.unit_id,
        session_id=session_id,
        display_name=point.name,
    )


async def _touch_point(
    request: HTTPConnection, read_db: AsyncSession, point: ConferencePoint
) -> None:
    now = utcnow()
    if point.last_seen_at is not None and now - point.last_seen_at < LAST_SEEN_RESOLUTION:
        return
    # Release the read connection before taking a write one: holding one pooled connection
    # while waiting for another deadlocks once enough requests do it at once. Committing also
    # ends the read snapshot, so the route that follows sees this write.
    await read_db.commit()
    async with get_database(request).writer() as db:
        await db.execute(
            update(ConferencePoint).where(ConferencePoint.id == point.id).values(last_seen_at=now)
        )
        await db.commit()
    # The read session still holds the point object: keep it current without making it
    # dirty (the read session never writes).
    set_committed_value(point, "last_seen_at", now)


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting users that hold any of ``roles`` (never a point)."""
    allowed = frozenset(roles)

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.is_point or not principal.has_any(allowed):
            names = ", ".join(sorted(allowed))
            raise Problem(403, "forbidden", f"this needs one of the roles: {names}")
        return principal

    check.allowed_roles = allowed  # type: ignore[attr-defined]
    return check


async def require_user(principal: CurrentPrincipal) -> Principal:
    if not principal.is_user:
        raise Problem(403, "forbidden", "this is for signed-in users, not conference points")
    return principal


async def require_point(principal: CurrentPrincipal) -> Principal:
    if not principal.is_point:
        raise Problem(403, "forbidden", "this is for conference points")
    return principal


AdminPrincipal = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
UserPrincipal = Annotated[Principal, Depends(require_user)]
PointPrincipal = Annotated[Principal, Depends(require_point)]
