"""The same Alembic migrations build the schema on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from server import migrate
from server.db import Database
from server.models import Base


async def _schema_diff(url: str) -> list[object]:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await db.dispose()


async def _tables(url: str) -> set[str]:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await db.dispose()


def test_fresh_sqlite_database_migrates_to_head(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}"
    migrate.upgrade(url)
    assert asyncio.run(migrate.current_revision(url)) == migrate.head_revision()
    assert {t.name for t in Base.metadata.sorted_tables} <= asyncio.run(_tables(url))


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    assert await migrate.current_revision(database_url) == migrate.head_revision()
    assert await _schema_diff(database_url) == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_downgrade_to_base_and_upgrade_again(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.sqlite3'}"
        migrate.upgrade(url)
    else:
        url = request.getfixturevalue("postgres_url")
    migrate.downgrade(url, "base")
    assert asyncio.run(_tables(url)) <= {"alembic_version"}
    migrate.upgrade(url)
    assert asyncio.run(migrate.current_revision(url)) == migrate.head_revision()
    assert asyncio.run(_schema_diff(url)) == []
