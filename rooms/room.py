"""A room owned by this process: the single writer of one meeting's state and event log.

Commands queue up and are taken in batches: each is decided against the state in turn,
then all their events are persisted in one transaction, and only then published and
answered. A burst of 1,000 joins is a handful of transactions, not 1,000. If persisting
fails, the state is rebuilt from the log and the batch's commands fail: nothing was sent,
so nobody saw a change that is not in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rooms.machine import SYSTEM, Actor, ExpireFloor, Leave, Rejected, RoomCommand, apply
from rooms.state import Event, RoomState, evolve, snapshot
from rooms.store import EventStore

log = logging.getLogger(__name__)

BATCH = 256


class RoomUnavailable(Exception):
    """The room could not persist; the command did nothing. The client may retry."""


@dataclass
class Outcome:
    events: list[Event]
    seq: int
    snapshot: dict[str, Any] | None = None


@dataclass
class _Pending:
    command: RoomCommand
    actor: Actor
    snapshot_for: Actor | None
    future: asyncio.Future[Outcome] = field(repr=False)


class Room:
    def __init__(
        self,
        meeting_id: int,
        store: EventStore,
        publish: Callable[[int, list[Event]], Awaitable[None]],
        clock: Callable[[], datetime],
    ) -> None:
        self.meeting_id = meeting_id
        self.store = store
        self.publish = publish
        self.clock = clock
        self.state = RoomState(meeting_id=meeting_id)
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._floor_timer: asyncio.TimerHandle | None = None

    async def load(self, live_connection: Callable[[str], bool]) -> None:
        """Rebuild from the log, then drop connections whose process is gone."""
        await self._rebuild()
        self._task = asyncio.create_task(self._run(), name=f"room-{self.meeting_id}")
        stale = [
            (member.key, conn)
            for member in self.state.members.values()
            for conn in member.connections
            if not live_connection(conn)
        ]
        for key, conn in stale:
            await self.submit(Leave(key, conn, reason="lost"), SYSTEM)

    async def _rebuild(self) -> None:
        state = RoomState(meeting_id=self.meeting_id)
        for event in await self.store.since(self.meeting_id, 0):
            evolve(state, event)
        self.state = state
        self._arm_floor_timer()

    async def submit(
        self, command: RoomCommand, actor: Actor, *, snapshot_for: Actor | None = None
    ) -> Outcome:
        """Run a command; with ``snapshot_for``, also the room as that member sees it after."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(command, actor, snapshot_for, future))
        return await future

    async def stop(self) -> None:
        if self._floor_timer is not None:
            self._floor_timer.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._process(batch)
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the room alive; the batch is answered with the error
                log.exception("room %s: batch failed", self.meeting_id)

    async def _process(self, batch: list[_Pending]) -> None:
        now = self.clock()
        results: list[tuple[_Pending, Outcome | Exception]] = []
        persisted: list[Event] = []
        for pending in batch:
            try:
                events = apply(self.state, pending.command, pending.actor, now)
            except Rejected as rejected:
                results.append((pending, rejected))
                continue
            persisted += events
            viewer = pending.snapshot_for
            shot = snapshot(self.state, viewer.key, viewer.role) if viewer else None
            results.append((pending, Outcome(events, self.state.seq, shot)))
        try:
            await self.store.append(self.meeting_id, persisted)
        except Exception as exc:
            log.exception("room %s: could not persist %d events", self.meeting_id, len(persisted))
            await self._rebuild()
            for pending, _ in results:
                if not pending.future.done():
                    pending.future.set_exception(RoomUnavailable(str(exc)))
            return
        if persisted:
            self._arm_floor_timer()
            try:
                await self.publish(self.meeting_id, persisted)
            except Exception:  # persisted, so nothing is lost: clients fill the gap
                log.exception("room %s: could not publish events", self.meeting_id)
        for pending, result in results:
            if pending.future.done():
                continue
            if isinstance(result, Exception):
                pending.future.set_exception(result)
            else:
                pending.future.set_result(result)

    def _arm_floor_timer(self) -> None:
        if self._floor_timer is not None:
            self._floor_timer.cancel()
            self._floor_timer = None
        floor = self.state.floor
        if floor is None or floor.expires_at is None:
            return
        delay = max(0.0, (floor.expires_at - self.clock()).total_seconds())
        loop = asyncio.get_running_loop()
        self._floor_timer = loop.call_later(delay, self._expire_floor)

    def _expire_floor(self) -> None:
        async def expire() -> None:
            try:
                await self.submit(ExpireFloor(), SYSTEM)
            except (Rejected, RoomUnavailable) as exc:
                log.info("room %s: floor expiry not applied: %s", self.meeting_id, exc)

        asyncio.get_running_loop().create_task(expire())
