"""HTTP API of sign-in, the caller's own account, and user administration."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import delete, select, update

from server.accounts import service
from server.accounts.models import LoginThrottle, User
from server.accounts.passwords import hash_password, needs_rehash, verify_password
from server.accounts.schemas import (
    LoginRequest,
    LoginResponse,
    MeOut,
    PasswordChange,
    PointLoginRequest,
    PointLoginResponse,
    UserCreate,
    UserOut,
    UserPage,
    UserUpdate,
)
from server.accounts.sessions import IssuedSession, open_session, revoke_session
from server.accounts.throttle import (
    FailureRecord,
    ThrottlePolicy,
    after_failure,
    delay_seconds,
    locked_until,
)
from server.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    AdminPrincipal,
    CurrentPrincipal,
    UserPrincipal,
)
from server.db import Database, utcnow
from server.deps import AppDatabase, AppSettings, ReadDB, WriteDB
from server.identity import Role
from server.network.models import ConferencePoint
from server.network.service import get_point, get_unit, point_out
from server.problems import Problem
from server.settings import Settings
from server.tokens import token_hash

router = APIRouter(prefix="/api", tags=["accounts"])


def _policy(settings: Settings) -> ThrottlePolicy:
    return ThrottlePolicy(
        max_failures=settings.login_max_failures,
        slowdown_after=settings.login_slowdown_after,
        lock_for=timedelta(minutes=settings.login_lock_minutes),
    )


def _locked(until: datetime) -> Problem:
    seconds = max(1, int((until - utcnow()).total_seconds()) + 1)
    return Problem(
        429,
        "login_locked",
        f"too many failed sign-ins; try again in {(seconds + 59) // 60} minute(s)",
        headers={"Retry-After": str(seconds)},
        retry_after_seconds=seconds,
    )


def _set_session_cookies(response: Response, issued: IssuedSession, settings: Settings) -> None:
    max_age = int((issued.expires_at - utcnow()).total_seconds())
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    # Readable by our page's script, which echoes it in X-CSRF-Token.
    response.set_cookie(
        CSRF_COOKIE,
        issued.csrf_token,
        max_age=max_age,
        httponly=False,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def _client(request: Request) -> tuple[str, str]:
    host = request.client.host if request.client else ""
    return request.headers.get("user-agent", ""), host


@router.post("/auth/login", response_model=LoginResponse, summary="Sign in with a password")
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    db: ReadDB,
    database: AppDatabase,
    settings: AppSettings,
) -> LoginResponse:
    # The password check (tens of ms of CPU) runs outside any write transaction: on SQLite
    # a write transaction holds the database lock, and sign-ins would queue behind it.
    until = locked_until(_failure_record(await db.get(LoginThrottle, body.username)), utcnow())
    if until is not None:
        raise _locked(until)
    user = await service.find_user(db, body.username)
    await db.close()
    ok = await verify_password(user.password_hash if user else None, body.password)

    if not ok or user is None or not user.active:
        state = await _record_failure(database, body.username, _policy(settings))
        if state.locked_until is not None:
            raise _locked(state.locked_until)
        await anyio.sleep(delay_seconds(state, _policy(settings)))
        raise Problem(401, "invalid_credentials", "wrong username or password")

    user_agent, ip = _client(request)
    async with database.writer() as tx:
        await tx.execute(delete(LoginThrottle).where(LoginThrottle.username == body.username))
        if needs_rehash(user.password_hash):
            await tx.execute(
                update(User)
                .where(User.id == user.id)
                .values(password_hash=await hash_password(body.password))
            )
        issued = await open_session(
            tx,
            secret_key=settings.secret_key,
            lifetime=timedelta(hours=settings.session_hours),
            user_id=user.id,
            user_agent=user_agent,
            client_ip=ip,
        )
        await tx.commit()
    _set_session_cookies(response, issued, settings)
    return LoginResponse(
        token=issued.token,
        csrf_token=issued.csrf_token,
        expires_at=issued.expires_at,
        user=service.user_out(user),
    )


def _failure_record(row: LoginThrottle | None) -> FailureRecord | None:
    if row is None:
        return None
    return FailureRecord(row.failures, row.last_failure_at, row.locked_until)


async def _record_failure(
    database: Database, username: str, policy: ThrottlePolicy
) -> FailureRecord:
    async with database.writer() as tx:
        row = await tx.get(LoginThrottle, username, with_for_update=True)
        state = after_failure(_failure_record(row), utcnow(), policy)
        if row is None:
            row = LoginThrottle(username=username)
            tx.add(row)
        row.failures = state.failures
        row.last_failure_at = state.last_failure_at
        row.locked_until = state.locked_until
        await tx.commit()
    return state


@router.post(
    "/auth/point-login",
    response_model=PointLoginResponse,
    summary="A conference point kiosk signs in with its device token",
)
async def point_login(
    body: PointLoginRequest,
    request: Request,
    response: Response,
    db: WriteDB,
    settings: AppSettings,
) -> PointLoginResponse:
    point = (
        await db.execute(
            select(ConferencePoint).where(
                ConferencePoint.token_hash == token_hash(body.device_token)
            )
        )
    ).scalar_one_or_none()
    if point is None:
        raise Problem(401, "invalid_credentials", "unknown device token")
    if not point.enabled:
        raise Problem(401, "point_disabled", "this conference point is disabled")
    user_agent, ip = _client(request)
    point.last_seen_at = utcnow()
    issued = await open_session(
        db,
        secret_key=settings.secret_key,
        lifetime=timedelta(hours=settings.session_hours),
        point_id=point.id,
        user_agent=user_agent,
        client_ip=ip,
    )
    await db.commit()
    _set_session_cookies(response, issued, settings)
    return PointLoginResponse(
        token=issued.token,
        csrf_token=issued.csrf_token,
        expires_at=issued.expires_at,
        point=point_out(point, utcnow(), settings.point_online_seconds),
    )


@router.post("/auth/logout", status_code=204, summary="End this session")
async def logout(principal: CurrentPrincipal, db: WriteDB) -> Response:
    if principal.session_id is not None:
        await revoke_session(db, principal.session_id)
        await db.commit()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.get("/me", response_model=MeOut, summary="Who am I")
async def me(principal: CurrentPrincipal, db: ReadDB, settings: AppSettings) -> MeOut:
    if principal.is_point:
        point = await get_point(db, principal.id)
        return MeOut(
            kind=principal.kind, point=point_out(point, utcnow(), settings.point_online_seconds)
        )
    return MeOut(
        kind=principal.kind, user=service.user_out(await service.get_user(db, principal.id))
    )


@router.post("/me/password", status_code=204, summary="Change my password")
async def change_password(body: PasswordChange, principal: UserPrincipal, db: WriteDB) -> Response:
    user = await service.get_user(db, principal.id)
    if not await verify_password(user.password_hash, body.current_password):
        raise Problem(403, "wrong_password", "the current password is wrong")
    await service.set_password(db, user, body.new_password)
    await db.commit()
    # Every session ends, this one too: the client signs in again with the new password.
    return Response(status_code=204)


@router.get("/users", response_model=UserPage, summary="Accounts (admin)")
async def list_users(
    _: AdminPrincipal,
    db: ReadDB,
    role: Role | None = None,
    unit_id: int | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> UserPage:
    where = service.UserFilter(role=role, unit_id=unit_id, q=q, active=active)
    users, total = await service.list_users(db, where, limit, offset)
    return UserPage(items=[service.user_out(u) for u in users], total=total)


@router.get("/users/{user_id}", response_model=UserOut, summary="One account (admin)")
async def get_user(user_id: int, _: AdminPrincipal, db: ReadDB) -> UserOut:
    return service.user_out(await service.get_user(db, user_id))


@router.post("/users", response_model=UserOut, status_code=201, summary="Add an account (admin)")
async def create_user(body: UserCreate, _: AdminPrincipal, db: WriteDB) -> UserOut:
    user = await service.create_user(
        db,
        username=body.username,
        full_name=body.full_name,
        password=body.password,
        roles=set(body.roles),
        unit_id=body.unit_id,
        active=body.active,
    )
    await db.commit()
    return service.user_out(user)


@router.patch("/users/{user_id}", response_model=UserOut, summary="Change an account (admin)")
async def update_user(
    user_id: int, body: UserUpdate, admin: AdminPrincipal, db: WriteDB
) -> UserOut:
    user = await service.get_user(db, user_id)
    changes = body.model_dump(exclude_unset=True)
    if user.id == admin.id and (
        changes.get("active") is False or (body.roles is not None and Role.ADMIN not in body.roles)
    ):
        raise Problem(
            409, "self_lockout", "you cannot disable your own account or drop your own admin role"
        )
    if body.full_name is not None:
        user.full_name = body.full_name.strip()
    if "unit_id" in changes:
        user.unit = await get_unit(db, body.unit_id) if body.unit_id is not None else None
    if body.roles is not None:
        user.set_roles(set(body.roles))
    if body.active is not None:
        await service.set_active(db, user, body.active)
    if body.password is not None:
        await service.set_password(db, user, body.password)
    await db.commit()
    return service.user_out(user)
