"""Sign-in, sessions, bearer and cookie authentication, CSRF, lockout, device tokens."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from server.accounts.models import User
from server.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from server.db import Database, utcnow
from server.identity import Role
from server.network.models import Unit, UnitKind
from server.network.service import create_point
from server.sessions import AuthSession
from server.settings import Settings
from server.tokens import token_hash
from tests.conftest import PASSWORD, Account, make_account


async def _login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"username": username, "password": password})


async def test_login_returns_token_user_and_session_cookies(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_account(app, client, "thuky", Role.SECRETARY)
    client.cookies.clear()
    response = await _login(client, "ThuKy", PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["token"].startswith("hs_")
    assert body["user"]["username"] == "thuky"
    assert body["user"]["roles"] == ["secretary"]
    assert "password" not in response.text and "hash" not in response.text
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    csrf_cookie = next(c for c in cookies if c.startswith(CSRF_COOKIE + "="))
    assert "HttpOnly" not in csrf_cookie


async def test_the_token_authenticates_as_bearer(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await make_account(app, client, "canbo", Role.OFFICIAL)
    client.cookies.clear()
    me = await client.get("/api/me", headers=account.auth)
    assert me.status_code == 200
    assert me.json()["kind"] == "user"
    assert me.json()["user"]["username"] == "canbo"


async def test_wrong_password_and_unknown_user_get_the_same_answer(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_account(app, client, "canbo", Role.OFFICIAL)
    wrong = await _login(client, "canbo", "not the password")
    unknown = await _login(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_disabled_account_cannot_sign_in(
    app: FastAPI, client: httpx.AsyncClient, db: Database
) -> None:
    account = await make_account(app, client, "canbo", Role.OFFICIAL)
    async with db.writer() as session:
        await session.execute(update(User).where(User.id == account.id).values(active=False))
        await session.commit()
    assert (await _login(client, "canbo", PASSWORD)).status_code == 401
    me = await client.get("/api/me", headers=account.auth)
    assert me.status_code == 401
    assert me.json()["code"] == "account_disabled"


async def test_repeated_failures_lock_the_username_even_for_the_right_password(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_account(app, client, "canbo", Role.OFFICIAL)
    for _ in range(settings.login_max_failures - 1):
        assert (await _login(client, "canbo", "wrong password")).status_code == 401
    locking = await _login(client, "canbo", "wrong password")
    assert locking.status_code == 429
    assert locking.json()["code"] == "login_locked"
    retry_after = int(locking.headers["retry-after"])
    assert 0 < retry_after <= settings.login_lock_minutes * 60 + 1

    right = await _login(client, "canbo", PASSWORD)
    assert right.status_code == 429
    assert right.json()["code"] == "login_locked"


async def test_lock_ends_after_the_lock_period(
    app: FastAPI, client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    from server.accounts.models import LoginThrottle

    await make_account(app, client, "canbo", Role.OFFICIAL)
    for _ in range(settings.login_max_failures):
        await _login(client, "canbo", "wrong password")
    assert (await _login(client, "canbo", PASSWORD)).status_code == 429
    # Move the lock into the past, as if the lock period had gone by.
    async with db.writer() as session:
        await session.execute(
            update(LoginThrottle).values(locked_until=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert (await _login(client, "canbo", PASSWORD)).status_code == 200


async def test_failures_past_the_slowdown_threshold_are_answered_slowly(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(
        update={"login_slowdown_after": 1, "login_max_failures": 10}
    )
    await make_account(app, client, "canbo", Role.OFFICIAL)
    await _login(client, "canbo", "wrong password")  # first failure: answered at once
    started = time.monotonic()
    second = await _login(client, "canbo", "wrong password")
    assert second.status_code == 401
    # The policy holds the second failure for 0.5 s (a lower bound; never an upper one).
    assert time.monotonic() - started >= 0.5


async def test_logout_revokes_the_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await make_account(app, client, "canbo", Role.OFFICIAL)
    client.cookies.clear()
    assert (await client.post("/api/auth/logout", headers=account.auth)).status_code == 204
    after = await client.get("/api/me", headers=account.auth)
    assert after.status_code == 401
    assert after.json()["code"] == "invalid_token"


async def test_expired_session_is_refused_with_its_own_code(
    app: FastAPI, client: httpx.AsyncClient, db: Database
) -> None:
    account = await make_account(app, client, "canbo", Role.OFFICIAL)
    async with db.writer() as session:
        await session.execute(
            update(AuthSession).values(expires_at=utcnow() - timedelta(minutes=1))
        )
        await session.commit()
    response = await client.get("/api/me", headers=account.auth)
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_requests_without_credentials_get_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    garbage = await client.get("/api/me", headers={"Authorization": "Bearer hs_garbage"})
    assert garbage.status_code == 401
    assert garbage.json()["code"] == "invalid_token"


async def test_cookie_session_needs_the_csrf_header_for_writes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_account(app, client, "canbo", Role.OFFICIAL)
    client.cookies.clear()
    login = await _login(client, "canbo", PASSWORD)
    csrf = login.json()["csrf_token"]
    assert client.cookies.get(CSRF_COOKIE) == csrf

    # Reads with the cookie alone are fine.
    assert (await client.get("/api/me")).status_code == 200
    # A write with the cookie but no header is what a forged cross-site form would send.
    forged = await client.post("/api/auth/logout")
    assert forged.status_code == 403
    assert forged.json()["code"] == "csrf_failed"
    wrong = await client.post("/api/auth/logout", headers={CSRF_HEADER: "0" * 64})
    assert wrong.status_code == 403
    assert (await client.get("/api/me")).status_code == 200

    ok = await client.post("/api/auth/logout", headers={CSRF_HEADER: csrf})
    assert ok.status_code == 204
    assert (await client.get("/api/me")).status_code == 401


async def test_bearer_requests_need_no_csrf_header(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await make_account(app, client, "canbo", Role.OFFICIAL)
    client.cookies.clear()
    response = await client.post("/api/auth/logout", headers=account.auth)
    assert response.status_code == 204


async def test_password_change_ends_every_session(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await make_account(app, client, "canbo", Role.OFFICIAL)
    client.cookies.clear()
    other = (await _login(client, "canbo", PASSWORD)).json()["token"]
    client.cookies.clear()
    wrong = await client.post(
        "/api/me/password",
        headers=account.auth,
        json={"current_password": "not it", "new_password": "một mật khẩu mới"},
    )
    assert wrong.status_code == 403
    changed = await client.post(
        "/api/me/password",
        headers=account.auth,
        json={"current_password": PASSWORD, "new_password": "một mật khẩu mới"},
    )
    assert changed.status_code == 204
    for token in (account.token, other):
        response = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
    assert (await _login(client, "canbo", "một mật khẩu mới")).status_code == 200


async def _point(db: Database) -> tuple[int, str]:
    async with db.writer() as session:
        unit = Unit(code="xa-tan-phu", name="Xã Tân Phú", kind=UnitKind.COMMUNE)
        session.add(unit)
        await session.flush()
        point, token = await create_point(session, unit, "Hội trường UBND xã Tân Phú")
        await session.commit()
        return point.id, token


async def test_point_authenticates_with_its_device_token(
    client: httpx.AsyncClient, db: Database
) -> None:
    point_id, token = await _point(db)
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["kind"] == "point"
    assert me.json()["point"]["id"] == point_id
    assert me.json()["point"]["online"] is True
    # A point is not a user: user routes refuse it.
    users = await client.get("/api/users", headers={"Authorization": f"Bearer {token}"})
    assert users.status_code == 403


async def test_kiosk_signs_in_with_device_token_and_gets_a_session(
    client: httpx.AsyncClient, db: Database
) -> None:
    point_id, token = await _point(db)
    response = await client.post("/api/auth/point-login", json={"device_token": token})
    assert response.status_code == 200
    assert response.json()["point"]["id"] == point_id
    session_token = response.json()["token"]
    assert session_token.startswith("hs_")
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {session_token}"})
    assert me.json()["kind"] == "point"
    bad = await client.post("/api/auth/point-login", json={"device_token": "hd_nope"})
    assert bad.status_code == 401


async def test_tokens_are_stored_only_as_hashes(
    app: FastAPI, client: httpx.AsyncClient, db: Database
) -> None:
    account: Account = await make_account(app, client, "canbo", Role.OFFICIAL)
    _, device_token = await _point(db)
    async with db.reader() as session:
        stored = (await session.execute(select(AuthSession.token_hash))).scalars().all()
        from server.network.models import ConferencePoint

        point_hashes = (await session.execute(select(ConferencePoint.token_hash))).scalars().all()
    assert account.token not in stored and token_hash(account.token) in stored
    assert device_token not in point_hashes and token_hash(device_token) in point_hashes


async def test_parallel_guesses_get_no_more_tries_than_the_limit(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_account(app, client, "canbo", Role.OFFICIAL)
    client.cookies.clear()
    answers = await asyncio.gather(*(_login(client, "canbo", f"guess {i}") for i in range(25)))
    statuses = Counter(a.status_code for a in answers)
    # Only as many passwords as the limit were checked; the rest were turned away.
    assert statuses[401] <= settings.login_max_failures
    assert statuses[429] >= 25 - settings.login_max_failures
    assert {a.json()["code"] for a in answers if a.status_code == 429} <= {
        "login_busy",
        "login_locked",
    }
    # The guesses used up the limit: the username is now locked, right password or not.
    after = await _login(client, "canbo", PASSWORD)
    assert after.status_code == 429
    assert after.json()["code"] == "login_locked"


async def test_one_account_signing_in_from_many_places_at_once_is_not_locked(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_account(app, client, "canbo", Role.OFFICIAL)
    client.cookies.clear()
    answers = await asyncio.gather(*(_login(client, "canbo", PASSWORD) for _ in range(12)))
    assert {a.status_code for a in answers} <= {200, 429}
    assert {a.json()["code"] for a in answers if a.status_code == 429} <= {"login_busy"}
    assert (await _login(client, "canbo", PASSWORD)).status_code == 200


async def test_guessing_the_current_password_is_throttled_too(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await make_account(app, client, "canbo", Role.OFFICIAL)
    client.cookies.clear()
    statuses = []
    for i in range(settings.login_max_failures + 1):
        response = await client.post(
            "/api/me/password",
            headers=account.auth,
            json={"current_password": f"guess {i}", "new_password": "một mật khẩu mới"},
        )
        statuses.append(response.status_code)
    assert statuses[: settings.login_max_failures - 1] == [403] * (settings.login_max_failures - 1)
    assert statuses[-1] == 429


async def test_a_non_ascii_csrf_header_is_refused_not_a_crash(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await make_account(app, client, "canbo", Role.OFFICIAL)
    client.cookies.clear()
    await _login(client, "canbo", PASSWORD)
    response = await client.post(
        "/api/auth/logout", headers={CSRF_HEADER: "\xe9t\xe9".encode("latin-1")}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


async def test_behind_tls_the_session_cookies_are_secure(database_url: str, tmp_path: Path) -> None:
    from asgi_lifespan import LifespanManager

    from server.app import create_app
    from tests.conftest import test_settings

    app = create_app(test_settings(database_url, tmp_path, public_url="https://hoinghi.example"))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as tls:
            await make_account(app, tls, "thuky", Role.SECRETARY)
            tls.cookies.clear()
            response = await _login(tls, "thuky", PASSWORD)
    cookies = response.headers.get_list("set-cookie")
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        cookie = next(c for c in cookies if c.startswith(name + "="))
        assert "Secure" in cookie, cookie
