"""Checking a user's password under the failed sign-in policy.

The attempt is recorded in one short write transaction, the password is checked outside any
transaction (it costs ~130 ms of CPU, and on SQLite a write transaction holds the whole
database), and the outcome is recorded in another.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import anyio
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import LoginThrottle, User
from server.accounts.passwords import verify_password
from server.accounts.service import find_user
from server.accounts.throttle import (
    FailureRecord,
    ThrottlePolicy,
    Verdict,
    admit,
    after_failure,
    after_success,
    delay_seconds,
    locked_until,
)
from server.db import Database, utcnow
from server.problems import Problem
from server.settings import Settings


def policy_from(settings: Settings) -> ThrottlePolicy:
    return ThrottlePolicy(
        max_failures=settings.login_max_failures,
        slowdown_after=settings.login_slowdown_after,
        lock_for=timedelta(minutes=settings.login_lock_minutes),
    )


def locked_problem(until: datetime) -> Problem:
    seconds = max(1, int((until - utcnow()).total_seconds()) + 1)
    return Problem(
        429,
        "login_locked",
        f"too many failed sign-ins; try again in {(seconds + 59) // 60} minute(s)",
        headers={"Retry-After": str(seconds)},
        retry_after_seconds=seconds,
    )


async def check_password(
    database: Database, username: str, password: str, policy: ThrottlePolicy
) -> User | None:
    """The active user if the password is right, else None (after the policy's delay).

    Raises a 429 problem while the username is locked, or while as many attempts as the
    limit are already being checked.
    """
    async with database.writer() as tx:
        row = await _throttle_row(tx, username)
        record, verdict = admit(_record(row), utcnow(), policy)
        _store(row, record)
        await tx.commit()
    if verdict is Verdict.LOCKED:
        assert record.locked_until is not None
        raise locked_problem(record.locked_until)
    if verdict is Verdict.BUSY:
        raise Problem(
            429,
            "login_busy",
            "other sign-ins for this account are being checked; try again in a moment",
            headers={"Retry-After": "1"},
            retry_after_seconds=1,
        )

    async with database.reader() as db:
        user = await find_user(db, username)
    right = await verify_password(user.password_hash if user else None, password)
    succeeded = right and user is not None and user.active

    async with database.writer() as tx:
        row = await _throttle_row(tx, username)
        now = utcnow()
        record = (
            after_success(_record(row)) if succeeded else after_failure(_record(row), now, policy)
        )
        # A parallel attempt may have failed for the last time meanwhile: then even the
        # right password waits for the lock to end.
        until = locked_until(record, now)
        if record.failures == 0 and record.pending == 0 and until is None:
            await tx.delete(row)
        else:
            _store(row, record)
        await tx.commit()
    if until is not None:
        raise locked_problem(until)
    if succeeded:
        return user
    await anyio.sleep(delay_seconds(record, policy))
    return None


async def purge_throttles(tx: AsyncSession, older_than: datetime) -> int:
    """Forget records nobody has used for a while (failures for made-up usernames pile up)."""
    result = await tx.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_attempt_at < older_than,
            (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < older_than),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _throttle_row(tx: AsyncSession, username: str) -> LoginThrottle:
    # Create-if-missing, then lock the row: parallel attempts on one username queue here
    # (PostgreSQL row lock; SQLite writers are serialised by BEGIN IMMEDIATE).
    insert = sqlite_insert if tx.get_bind().dialect.name == "sqlite" else postgresql_insert
    # A parallel sign-in that succeeds deletes the row while we wait for its lock: then
    # the row is gone when we get it, and is created again.
    for _ in range(5):
        await tx.execute(
            insert(LoginThrottle)
            .values(username=username, failures=0, pending=0)
            .on_conflict_do_nothing()
        )
        row = await tx.get(LoginThrottle, username, with_for_update=True, populate_existing=True)
        if row is not None:
            return row
    raise RuntimeError(f"login throttle row for {username!r} keeps disappearing")


def _record(row: LoginThrottle) -> FailureRecord:
    return FailureRecord(row.failures, row.pending, row.last_attempt_at, row.locked_until)


def _store(row: LoginThrottle, record: FailureRecord) -> None:
    row.failures = record.failures
    row.pending = record.pending
    row.last_attempt_at = record.last_attempt_at
    row.locked_until = record.locked_until
