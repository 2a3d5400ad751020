"""The background sweep forgets stale failed sign-ins and long-ended sessions, nothing else."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update

from server import housekeeping
from server.accounts.models import LoginThrottle
from server.db import Database, utcnow
from server.identity import Role
from server.sessions import AuthSession
from server.settings import Settings
from tests.conftest import make_account


async def _count(db: Database, column: object) -> int:
    async with db.reader() as session:
        return int((await session.execute(select(func.count(column)))).scalar_one())


async def test_sweep_removes_only_what_has_run_out(
    app: FastAPI, client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    account = await make_account(app, client, "canbo", Role.OFFICIAL)
    for name in ("ghost-1", "ghost-2"):
        await client.post("/api/auth/login", json={"username": name, "password": "wrong"})
    await client.post("/api/auth/login", json={"username": "recent", "password": "wrong"})
    long_ago = utcnow() - timedelta(days=60)
    async with db.writer() as session:
        await session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.username.in_(["ghost-1", "ghost-2"]))
            .values(last_attempt_at=long_ago)
        )
        await session.execute(
            update(AuthSession)
            .where(AuthSession.id != -1)
            .values(expires_at=long_ago)  # every session so far: long expired
        )
        await session.commit()
    fresh = await client.post(
        "/api/auth/login", json={"username": "canbo", "password": account.password}
    )
    assert fresh.status_code == 200

    throttles, sessions = await housekeeping.sweep(db, settings)
    assert (throttles, sessions) == (2, 1)
    async with db.reader() as session:
        left = (await session.execute(select(LoginThrottle.username))).scalars().all()
    assert left == ["recent"]
    assert await _count(db, AuthSession.id) == 1
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {fresh.json()['token']}"})
    assert me.status_code == 200
