"""HTTP API of signing in and out, and of the caller's own account."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from sqlalchemy import update

from server.accounts import service
from server.accounts.models import User
from server.accounts.passwords import hash_password, needs_rehash
from server.accounts.schemas import (
    LoginRequest,
    LoginResponse,
    MeOut,
    PasswordChange,
    PointLoginRequest,
    PointLoginResponse,
)
from server.accounts.signin import check_password, policy_from
from server.auth import CSRF_COOKIE, SESSION_COOKIE, CurrentPrincipal, UserPrincipal
from server.db import utcnow
from server.deps import AppDatabase, AppHub, AppSettings, ReadDB, WriteDB
from server.network.service import get_point, point_by_device_token, point_out
from server.problems import Problem
from server.sessions import IssuedSession, open_session, revoke_session
from server.settings import Settings

router = APIRouter(prefix="/api", tags=["sign-in"])


def _set_session_cookies(response: Response, issued: IssuedSession, settings: Settings) -> None:
    max_age = int((issued.expires_at - utcnow()).total_seconds())
    for name, value, httponly in (
        (SESSION_COOKIE, issued.token, True),
        # Readable by our page's script, which echoes it in X-CSRF-Token.
        (CSRF_COOKIE, issued.csrf_token, False),
    ):
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=httponly,
            samesite="lax",
            secure=settings.cookie_secure,
        )


def _user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


@router.post("/auth/login", response_model=LoginResponse, summary="Sign in with a password")
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    database: AppDatabase,
    settings: AppSettings,
) -> LoginResponse:
    user = await check_password(database, body.username, body.password, policy_from(settings))
    if user is None:
        raise Problem(401, "invalid_credentials", "wrong username or password")
    async with database.writer() as tx:
        if needs_rehash(user.password_hash):
            new_hash = await hash_password(body.password)
            await tx.execute(update(User).where(User.id == user.id).values(password_hash=new_hash))
        issued = await open_session(
            tx,
            secret_key=settings.secret_key,
            lifetime=timedelta(hours=settings.session_hours),
            user_id=user.id,
            user_agent=_user_agent(request),
            client_ip=_client_ip(request),
        )
        await tx.commit()
    _set_session_cookies(response, issued, settings)
    return LoginResponse(
        token=issued.token,
        csrf_token=issued.csrf_token,
        expires_at=issued.expires_at,
        user=service.user_out(user),
    )


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
    point = await point_by_device_token(db, body.device_token)
    point.last_seen_at = utcnow()
    issued = await open_session(
        db,
        secret_key=settings.secret_key,
        lifetime=timedelta(hours=settings.session_hours),
        point_id=point.id,
        user_agent=_user_agent(request),
        client_ip=_client_ip(request),
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
async def logout(principal: CurrentPrincipal, db: WriteDB, hub: AppHub) -> Response:
    # A device token is not a session: it ends only by rotation (admin).
    if principal.session_id is not None:
        await revoke_session(db, principal.session_id)
        await db.commit()
        await hub.disconnect(session_id=principal.session_id, reason="signed out")
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
async def change_password(
    body: PasswordChange,
    principal: UserPrincipal,
    database: AppDatabase,
    settings: AppSettings,
    hub: AppHub,
) -> Response:
    # Guessing the current password with a stolen session is throttled like signing in.
    policy = policy_from(settings)
    user = await check_password(database, principal.name, body.current_password, policy)
    if user is None or user.id != principal.id:
        raise Problem(403, "wrong_password", "the current password is wrong")
    async with database.writer() as tx:
        await service.set_password(tx, await service.get_user(tx, user.id), body.new_password)
        await tx.commit()
    await hub.disconnect(key=f"u:{user.id}", reason="the password changed")
    # Every session ends, this one too: the client signs in again with the new password.
    return Response(status_code=204)
