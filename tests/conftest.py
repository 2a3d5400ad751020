"""Fixtures: a migrated database (SQLite, and PostgreSQL when configured), the app on it,
an HTTP client, a live uvicorn server, and accounts of every role.

Every test that takes ``database_url`` runs once per database backend. PostgreSQL runs when
``HOINGHI_TEST_DATABASE_URL`` is set; with ``CI=true`` it is mandatory.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text

from server import migrate
from server.app import create_app
from server.cli import UVICORN_WS_OPTIONS
from server.db import Database
from server.identity import Role
from server.models import Base
from server.settings import Settings, load_settings

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ENV = "HOINGHI_TEST_DATABASE_URL"
PASSWORD = "mật-khẩu-thử-nghiệm"


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2id with its cost turned down: the same code paths, a fraction of the CPU.

    Production parameters cost ~50 ms a hash, and most tests create several accounts.
    """
    from argon2 import PasswordHasher

    from server.accounts import passwords

    production = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = production


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per distinct skip reason, instead of one per skipped test."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else "skipped"
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in reasons.items():
        terminalreporter.write_line(f"SKIPPED {count} tests: {reason}", yellow=True)


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


async def _reset_postgres(url: str) -> None:
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get(PG_ENV, "")
    if not url:
        _unavailable(f"PostgreSQL tests skipped: set {PG_ENV}=postgresql+asyncpg://...")
    try:
        asyncio.run(_reset_postgres(url))
    except Exception as exc:  # unreachable, no such database, refused login, bad URL...
        _unavailable(f"PostgreSQL at {PG_ENV}={url} is not usable: {exc!r}"[:500])
    migrate.upgrade(url)
    return url


REDIS_ENV = "HOINGHI_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A real Redis (the machine's); each test keeps to its own key prefix."""
    url = os.environ.get(REDIS_ENV, "")
    if not url:
        _unavailable(f"Redis tests skipped: set {REDIS_ENV}=redis://127.0.0.1:6379/0")
    import redis as redis_sync

    try:
        redis_sync.Redis.from_url(url).ping()
    except Exception as exc:
        _unavailable(f"Redis at {REDIS_ENV}={url} is not usable: {exc!r}"[:500])
    return url


@pytest.fixture
def redis_prefix() -> str:
    import secrets

    return f"test-{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "hoinghi.sqlite3"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


async def _truncate_all(url: str) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "hoinghi.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_truncate_all(url))
    return url


def test_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    """Settings for one test's own data directory and database."""
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key",
        seed_demo=False,
        login_slowdown_after=100,
        **overrides,
    )


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return test_settings(database_url, tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def db(app: FastAPI) -> Database:
    database: Database = app.state.db
    return database


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    password: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_account(
    app: FastAPI | Database, client: httpx.AsyncClient, username: str, *roles: Role
) -> Account:
    """A user with ``roles``, created in the database and signed in through ``client``."""
    from server.accounts.service import create_user

    database: Database = app if isinstance(app, Database) else app.state.db
    async with database.writer() as session:
        user = await create_user(
            session,
            username=username,
            full_name=f"Người dùng {username}",
            password=PASSWORD,
            roles=set(roles),
        )
        await session.commit()
    response = await client.post(
        "/api/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return Account(user.id, username, PASSWORD, response.json()["token"])


@pytest.fixture
async def accounts(app: FastAPI, client: httpx.AsyncClient) -> dict[str, Account]:
    """One signed-in account per role, keyed by role name."""
    return {role.value: await make_account(app, client, role.value, role) for role in Role}


@dataclass
class LiveServer:
    url: str
    settings: Settings


@contextmanager
def serving(settings: Settings, port: int = 0) -> Iterator[LiveServer]:
    """The app served by uvicorn (as `hoinghi serve` runs it) in a background thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), log_level="warning", lifespan="on", **UVICORN_WS_OPTIONS
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(1000):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not server.started:
            raise RuntimeError("live server did not start")
        yield LiveServer(f"http://127.0.0.1:{port}", settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The app served by uvicorn on a free port in a background thread."""
    with serving(settings) as server:
        yield server


@pytest.fixture
async def province(db: Database, client: httpx.AsyncClient, accounts: dict[str, Account]):  # type: ignore[no-untyped-def]
    """The demo province seeded, with one signed-in account per role (see tests/province.py)."""
    from tests.province import make_province

    return await make_province(db, client, accounts)


@pytest.fixture
async def live_province(live_server: LiveServer):  # type: ignore[no-untyped-def]
    """The demo province on the live server, with one signed-in account per role.

    Its client talks HTTP to the live server, so actions (starting a meeting) reach the
    same process as the room WebSockets.
    """
    from tests.province import make_province

    database = Database(live_server.settings.database_url)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
        accounts = {r.value: await make_account(database, client, r.value, r) for r in Role}
        province = await make_province(database, client, accounts)
        province.ws_url = live_server.url.replace("http://", "ws://")
        province.database_url = live_server.settings.database_url
        try:
            yield province
        finally:
            await database.dispose()
