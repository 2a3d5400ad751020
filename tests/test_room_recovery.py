"""A room rebuilt from its log drops the connections of processes that are gone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from rooms.machine import SYSTEM, Join, Open, apply
from rooms.room import Room
from rooms.state import Event, Role, RoomState
from rooms.store import BallotWrite, EventStore
from server.db import Database

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


async def test_connections_of_a_crashed_process_are_dropped_on_rebuild(database_url: str) -> None:
    database = Database(database_url)
    store = EventStore(database)
    # What a process that then crashed (kill -9) left in the log: joins and no leaves.
    state = RoomState(meeting_id=1)
    log = apply(state, Open(), SYSTEM, T0)
    log += apply(state, Join("p:1", "point", 1, "A", Role.POINT, None, "dead-proc.1"), SYSTEM, T0)
    log += apply(state, Join("p:2", "point", 2, "B", Role.POINT, None, "live-proc.7"), SYSTEM, T0)
    await store.append(1, log)

    published: list[Event] = []

    async def publish(meeting_id: int, events: list[Event]) -> None:
        published.extend(events)

    room = Room(1, store, publish, lambda: T0)
    await room.load(lambda conn: conn.startswith("live-proc."))
    try:
        assert [(e.kind, e.data["key"], e.data["reason"]) for e in published] == [
            ("member.left", "p:1", "lost")
        ]
        assert set(room.state.members) == {"p:2"}
        assert await store.last_seq(1) == published[-1].seq == 4
    finally:
        await room.stop()
        await database.dispose()


class FlakyStore(EventStore):
    """The real store, with faults to inject: appends and reads that fail on demand."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.fail_appends = 0
        self.fail_reads = False

    async def append(
        self, meeting_id: int, events: list[Event], ballots: Sequence[BallotWrite] = ()
    ) -> None:
        if self.fail_appends:
            self.fail_appends -= 1
            raise OSError("disk went away")
        await super().append(meeting_id, events, ballots)

    async def since(self, meeting_id: int, after: int, upto: int | None = None) -> list[Event]:
        if self.fail_reads:
            raise OSError("disk went away")
        return await super().since(meeting_id, after, upto)


async def _room(database_url: str) -> tuple[Room, FlakyStore, list[Event], Database]:
    database = Database(database_url)
    store = FlakyStore(database)
    published: list[Event] = []

    async def publish(meeting_id: int, events: list[Event]) -> None:
        published.extend(events)

    room = Room(1, store, publish, lambda: T0)
    await room.load(lambda conn: True)
    await room.submit(Open(), SYSTEM)
    await room.submit(Join("p:1", "point", 1, "A", Role.POINT, None, "c1"), SYSTEM)
    return room, store, published, database


async def test_a_failed_write_changes_nothing_and_the_room_goes_on(database_url: str) -> None:
    from rooms import messages
    from rooms.machine import Actor
    from rooms.room import RoomUnavailable

    room, store, _published, database = await _room(database_url)
    point = Actor("p:1", Role.POINT)
    store.fail_appends = 1
    with pytest.raises(RoomUnavailable):
        await room.submit(messages.parse_command({"type": "raise_hand", "id": "1"}), point)
    assert room.state.queue == [] and room.state.seq == 2  # taken back from the log
    outcome = await room.submit(messages.parse_command({"type": "raise_hand", "id": "2"}), point)
    assert [e.seq for e in outcome.events] == [3]
    assert [e.seq for e in await store.since(1, 0)] == [1, 2, 3]
    await room.stop()
    await database.dispose()


async def test_a_room_whose_log_cannot_be_read_stops_serving(database_url: str) -> None:
    from rooms import messages
    from rooms.machine import Actor
    from rooms.room import RoomUnavailable

    room, store, _published, database = await _room(database_url)
    store.fail_appends, store.fail_reads = 1, True
    point = Actor("p:1", Role.POINT)
    with pytest.raises(RoomUnavailable):
        await room.submit(messages.parse_command({"type": "raise_hand", "id": "1"}), point)
    assert room.broken is not None
    # It answers at once from now on, instead of writing seqs it cannot vouch for.
    with pytest.raises(RoomUnavailable):
        await asyncio.wait_for(
            room.submit(messages.parse_command({"type": "ping", "id": "2"}), point), 1
        )
    store.fail_reads = False
    assert [e.seq for e in await store.since(1, 0)] == [1, 2]
    await room.stop()
    await database.dispose()


async def test_a_command_sent_twice_runs_once(database_url: str) -> None:
    from rooms import messages
    from rooms.machine import Actor

    room, store, _published, database = await _room(database_url)
    chat = messages.parse_command({"type": "chat", "id": "1", "text": "Xin chào"})
    point = Actor("p:1", Role.POINT)
    first = await room.submit(chat, point, request_id="req-1")
    again = await room.submit(chat, point, request_id="req-1")
    assert [e.seq for e in again.events] == [e.seq for e in first.events]
    # ...also after the room is rebuilt from its log (the next owner after a failover).
    await room.stop()
    rebuilt = Room(1, store, room.publish, lambda: T0)
    await rebuilt.load(lambda conn: True)
    third = await rebuilt.submit(chat, point, request_id="req-1")
    assert [e.seq for e in third.events] == [e.seq for e in first.events]
    assert [e.kind for e in await store.since(1, 0)].count("chat.sent") == 1
    await rebuilt.stop()
    await database.dispose()
