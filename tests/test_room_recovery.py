"""A room rebuilt from its log drops the connections of processes that are gone."""

from __future__ import annotations

from datetime import UTC, datetime

from rooms.machine import SYSTEM, Join, Open, apply
from rooms.room import Room
from rooms.state import Event, Role, RoomState
from rooms.store import EventStore
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
