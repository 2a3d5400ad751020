"""Background upkeep while the server runs: forget stale failed sign-ins, old sessions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from server.accounts.signin import purge_throttles
from server.db import Database, utcnow
from server.sessions import purge_sessions
from server.settings import Settings

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600
# Ended sessions are kept this long (who signed in from where, for a while).
KEEP_ENDED_SESSIONS = timedelta(days=30)


async def sweep(db: Database, settings: Settings) -> tuple[int, int]:
    """One pass; returns (throttle records, sessions) deleted."""
    now = utcnow()
    async with db.writer() as tx:
        throttles = await purge_throttles(tx, now - timedelta(minutes=settings.login_lock_minutes))
        sessions = await purge_sessions(tx, now - KEEP_ENDED_SESSIONS)
        await tx.commit()
    return throttles, sessions


async def _loop(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            throttles, sessions = await sweep(db, settings)
            if throttles or sessions:
                log.info("housekeeping: %d sign-in records, %d sessions", throttles, sessions)
        except Exception:  # keep the loop alive; the next pass retries
            log.exception("housekeeping pass failed")
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), INTERVAL_SECONDS)


@asynccontextmanager
async def running(db: Database, settings: Settings) -> AsyncIterator[None]:
    # Stopped by an event, not by cancellation: a pass in the middle of a database call
    # finishes before the engine is disposed.
    stop = asyncio.Event()
    task = asyncio.create_task(_loop(db, settings, stop), name="housekeeping")
    try:
        yield
    finally:
        stop.set()
        await task
