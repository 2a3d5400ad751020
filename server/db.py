"""Database kernel: declarative base, portable column types, engine and sessions.

SQLite (aiosqlite) is the embedded default, PostgreSQL (asyncpg) the production path; the
same models and migrations serve both.
"""

from __future__ import annotations

import asyncio
import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Enum, MetaData, Select, event, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_only

# Stable constraint names so Alembic migrations name the same things on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    SQLite keeps no zone, so values are stored as naive UTC and made aware again on load;
    naive input is refused rather than guessed.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        return dialect.type_descriptor(DateTime(timezone=dialect.name != "sqlite"))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(enum_cls: type[enum.Enum], name: str) -> Enum:
    """An enum stored as its string values (VARCHAR), the same on SQLite and PostgreSQL."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=20,
        values_callable=lambda cls: [str(member.value) for member in cls],
        name=name,
    )


async def count_rows(db: AsyncSession, query: Select[Any]) -> int:
    """How many rows ``query`` returns (counted over it as a subquery: the query's own FROM
    and filters are kept even when it has no WHERE on the counted table)."""
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    return int((await db.execute(counted)).scalar_one())


def utcnow() -> datetime:
    return datetime.now(UTC)


class Database:
    """The engine and the two kinds of session the server uses.

    ``reader()`` opens a plain transaction. ``writer()`` is for work that writes: on SQLite it
    starts with ``BEGIN IMMEDIATE`` so it takes the write lock up front, instead of failing
    with "database is locked" when a read snapshot turns into a write after another
    connection committed. On PostgreSQL both are the same.

    SQLite has one writer at a time, and a writer waiting in its busy handler polls with
    sleeps of up to 100 ms: with a few dozen concurrent writes, most time goes to sleeping.
    So this process's writers queue on an asyncio lock instead, taken when the transaction
    begins and given back when it ends; SQLite's own wait (busy_timeout) is left for writers
    in other processes.
    """

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._write_lock = asyncio.Lock()
        # A database error's message never carries the statement's values (they may be a
        # token's hash, a comment, a ballot): errors are logged.
        engine_kwargs.setdefault("hide_parameters", True)
        if self.is_sqlite:
            self.engine = create_async_engine(url, **engine_kwargs)
            event.listen(self.engine.sync_engine, "connect", _sqlite_connect)
            event.listen(self.engine.sync_engine, "begin", self._sqlite_begin)
            event.listen(self.engine.sync_engine, "commit", self._transaction_ended)
            event.listen(self.engine.sync_engine, "rollback", self._transaction_ended)
            event.listen(self.engine.sync_engine.pool, "reset", self._connection_reset)
            event.listen(self.engine.sync_engine.pool, "close", self._connection_closed)
        else:
            # Recycled rather than pinged before every use: a ping is a round trip per request.
            self.engine = create_async_engine(url, pool_recycle=1800, **engine_kwargs)
        self._reader = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer = async_sessionmaker(
            self.engine.execution_options(sqlite_immediate=True), expire_on_commit=False
        )

    def reader(self) -> AsyncSession:
        return self._reader()

    def writer(self) -> AsyncSession:
        return self._writer()

    async def dispose(self) -> None:
        await self.engine.dispose()

    def _sqlite_begin(self, connection: Connection) -> None:
        if connection.get_execution_options().get("sqlite_immediate", False):
            await_only(self._write_lock.acquire())
            connection.info[_HOLDS_WRITE_LOCK] = True
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                self._release(connection.info)
                raise
        else:
            connection.exec_driver_sql("BEGIN")

    def _transaction_ended(self, connection: Connection) -> None:
        self._release(connection.info)

    # SQLAlchemy tells listener signatures apart by their parameter names.
    def _connection_reset(
        self, dbapi_connection: Any, connection_record: Any, reset_state: Any
    ) -> None:
        self._release(connection_record.info)

    def _connection_closed(self, dbapi_connection: Any, connection_record: Any) -> None:
        self._release(connection_record.info)

    def _release(self, info: dict[Any, Any]) -> None:
        if info.pop(_HOLDS_WRITE_LOCK, False):
            self._write_lock.release()


_HOLDS_WRITE_LOCK = "hoinghi_holds_write_lock"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the driver so _sqlite_begin decides its kind.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; busy_timeout makes a writer wait for the
    # lock instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
