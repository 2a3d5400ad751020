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
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from rooms import messages as m
from rooms.machine import (
    SYSTEM,
    Actor,
    Close,
    ExpireFloor,
    ExpirePoll,
    Leave,
    Rejected,
    RoomCommand,
    apply,
)
from rooms.state import Event, Poll, RoomState, evolve, snapshot
from rooms.store import BallotWrite, EventStore

log = logging.getLogger(__name__)

BATCH = 256


class RoomUnavailable(Exception):
    """The room could not persist; the command did nothing. The client may retry."""


class LostOwnership(RoomUnavailable):
    """Another process wrote this room's log: this process must stop serving the room."""


# Request ids of recent commands, to answer a retried command (forwarded again after a
# timeout, or sent again after a failover) with its first outcome instead of running twice.
REMEMBERED_REQUESTS = 4096


@dataclass
class Outcome:
    events: list[Event]
    seq: int
    snapshot: dict[str, Any] | None = None
    ballot: str | None = None  # a secret ballot's id, for its holder to change it


@dataclass
class _Pending:
    command: RoomCommand
    actor: Actor
    snapshot_for: Actor | None
    request_id: str | None
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
        # The last seq published (the state runs ahead while a batch is being persisted).
        self.published_seq = 0
        # Why the room stopped serving (its state could not be trusted), or None.
        self.broken: str | None = None
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._floor_timer: asyncio.TimerHandle | None = None
        self._poll_timer: asyncio.TimerHandle | None = None
        self._requests: OrderedDict[str, list[Event]] = OrderedDict()

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
        # Submitted together, so the room takes them in one batch (one transaction).
        await asyncio.gather(
            *(self.submit(Leave(key, conn, reason="lost"), SYSTEM) for key, conn in stale)
        )

    async def _rebuild(self) -> None:
        state = RoomState(meeting_id=self.meeting_id)
        requests: OrderedDict[str, list[Event]] = OrderedDict()
        for event in await self.store.since(self.meeting_id, 0):
            evolve(state, event)
            if event.request_id:
                requests.setdefault(event.request_id, []).append(event)
        while len(requests) > REMEMBERED_REQUESTS:
            requests.popitem(last=False)
        self.state = state
        self.published_seq = state.seq
        self._requests = requests
        self._arm_timers()

    async def submit(
        self,
        command: RoomCommand,
        actor: Actor,
        *,
        snapshot_for: Actor | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        """Run a command; with ``snapshot_for``, also the room as that member sees it after.

        A ``request_id`` seen before is not run again: its first outcome is returned.
        """
        if self.broken is not None:
            raise RoomUnavailable(self.broken)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(command, actor, snapshot_for, request_id, future))
        return await future

    async def stop(self) -> None:
        for timer in (self._floor_timer, self._poll_timer):
            if timer is not None:
                timer.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            if not pending.future.done():
                pending.future.set_exception(RoomUnavailable("the room was unloaded"))

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._process(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("room %s: batch failed", self.meeting_id)
                self._fail(batch, RoomUnavailable(str(exc)))
            finally:
                self._arm_timers()

    @staticmethod
    def _fail(batch: list[_Pending], error: Exception) -> None:
        for pending in batch:
            if not pending.future.done():
                pending.future.set_exception(error)

    async def _process(self, batch: list[_Pending]) -> None:
        if self.broken is not None:
            self._fail(batch, RoomUnavailable(self.broken))
            return
        now = self.clock()
        results: list[tuple[_Pending, Outcome | Exception]] = []
        persisted: list[Event] = []
        box = BallotBox(self.store, self.meeting_id)
        for pending in batch:
            known = self._requests.get(pending.request_id) if pending.request_id else None
            if known is not None:
                viewer = pending.snapshot_for
                shot = snapshot(self.state, viewer.key, viewer.role) if viewer else None
                seq = self.state.seq if viewer else known[-1].seq if known else self.state.seq
                results.append((pending, Outcome(known, seq, shot)))
                continue
            try:
                secret = await box.before(self.state, pending.command, pending.actor)
                events = apply(self.state, pending.command, pending.actor, now, pending.request_id)
            except Rejected as rejected:
                results.append((pending, rejected))
                continue
            ballot = box.after(secret, pending.command) if secret else None
            persisted += events
            if pending.request_id:
                self._remember(pending.request_id, events)
            viewer = pending.snapshot_for
            shot = snapshot(self.state, viewer.key, viewer.role) if viewer else None
            results.append((pending, Outcome(events, self.state.seq, shot, ballot)))
        try:
            await self.store.append(self.meeting_id, persisted, box.writes)
        except IntegrityError as exc:
            # Someone else wrote these seqs: another process owns the room now.
            self.broken = "another process owns this room"
            log.warning("room %s: lost ownership (%s)", self.meeting_id, exc)
            self._fail(batch, LostOwnership(self.broken))
            return
        except Exception as exc:
            log.exception("room %s: could not persist %d events", self.meeting_id, len(persisted))
            # The state ran ahead of the log: take it back from the log (before anyone hears
            # back), or stop serving.
            try:
                await self._rebuild()
            except Exception as rebuild_error:
                self.broken = f"the event log cannot be read: {rebuild_error}"
            self._fail(batch, RoomUnavailable(str(exc)))
            return
        if persisted:
            try:
                await self.publish(self.meeting_id, persisted)
            except Exception:  # persisted, so nothing is lost: clients fill the gap
                log.exception("room %s: could not publish events", self.meeting_id)
            self.published_seq = persisted[-1].seq
        for pending, result in results:
            if pending.future.done():
                continue
            if isinstance(result, Exception):
                pending.future.set_exception(result)
            else:
                pending.future.set_result(result)

    def _remember(self, request_id: str, events: list[Event]) -> None:
        self._requests[request_id] = events
        if len(self._requests) > REMEMBERED_REQUESTS:
            self._requests.popitem(last=False)

    def _arm_timers(self) -> None:
        """Time limits (the floor's, the poll's) end by a command the room sends itself."""
        for timer in (self._floor_timer, self._poll_timer):
            if timer is not None:
                timer.cancel()
        self._floor_timer = self._poll_timer = None
        if self.broken is not None:
            return
        floor, poll = self.state.floor, self.state.poll
        if floor is not None and floor.expires_at is not None:
            self._floor_timer = self._at(floor.expires_at, ExpireFloor())
        if poll is not None and poll.closes_at is not None:
            self._poll_timer = self._at(poll.closes_at, ExpirePoll(poll.number))

    def _at(self, moment: datetime, command: RoomCommand) -> asyncio.TimerHandle:
        # A little after the limit: an early tick would find it not yet due.
        delay = max(0.0, (moment - self.clock()).total_seconds()) + 0.05
        return asyncio.get_running_loop().call_later(delay, self._expire, command)

    def _expire(self, command: RoomCommand) -> None:
        async def expire() -> None:
            try:
                await self.submit(command, SYSTEM)
            except (Rejected, RoomUnavailable) as exc:
                log.info("room %s: %s not applied: %s", self.meeting_id, command, exc)

        task = asyncio.get_running_loop().create_task(expire())
        _background.add(task)
        task.add_done_callback(_background.discard)


class BallotBox:
    """A batch's secret ballots: checked before the room applies a cast, written with the
    batch's events, and counted (the box plus this batch) when a secret poll closes.

    The room's state learns only who voted; the choice goes from the command to the box.
    """

    def __init__(self, store: EventStore, meeting_id: int) -> None:
        self.store = store
        self.meeting_id = meeting_id
        self.writes: list[BallotWrite] = []
        self._options: dict[str, int] = {}  # ballot id -> option: ballots new in this batch
        self._changed: dict[str, int] = {}  # stored ballots changed in this batch -> option
        self._before_change: dict[str, int] = {}  # their option in the box

    async def before(self, state: RoomState, command: RoomCommand, actor: Actor) -> Poll | None:
        """The secret poll a command concerns (cast or close), made ready for it."""
        poll = state.poll
        if poll is None or not poll.secret:
            return None
        if isinstance(command, m.CastBallot) and command.poll == poll.number:
            if command.ballot is not None:
                if actor.key not in poll.voted:
                    raise Rejected("unknown_ballot", "cast your own ballot first")
                if await self._option(poll, command.ballot) is None:
                    raise Rejected("unknown_ballot", "no such ballot in this poll")
            return poll
        if isinstance(command, m.ClosePoll | ExpirePoll | Close):
            counts = await self.store.box_counts(self.meeting_id, poll.number, len(poll.options))
            for option in self._options.values():  # new in this batch, as they stand now
                counts[option] += 1
            for ballot_id, option in self._changed.items():
                counts[option] += 1
                counts[self._before_change[ballot_id]] -= 1
            poll.box_counts = counts
            return None
        return None

    def after(self, poll: Poll, command: RoomCommand) -> str | None:
        """Put the cast ballot in the box (or change it); its id for the voter."""
        assert isinstance(command, m.CastBallot)
        if command.ballot is None:
            ballot_id = secrets.token_hex(16)
            self.writes.append(BallotWrite(ballot_id, poll.number, command.option, True))
            self._options[ballot_id] = command.option
            return ballot_id
        self.writes.append(BallotWrite(command.ballot, poll.number, command.option, False))
        if command.ballot in self._options:
            self._options[command.ballot] = command.option
        else:
            self._changed[command.ballot] = command.option
        return command.ballot

    async def _option(self, poll: Poll, ballot_id: str) -> int | None:
        if ballot_id in self._options:
            return self._options[ballot_id]
        if ballot_id in self._changed:
            return self._changed[ballot_id]
        option = await self.store.ballot_option(self.meeting_id, poll.number, ballot_id)
        if option is not None:
            self._before_change[ballot_id] = option
        return option


# Strong references to fire-and-forget tasks (the loop keeps only weak ones).
_background: set[asyncio.Task[None]] = set()
