"""Narrow events (presence, organizers-only chat) go only to the watchers and the member
they are about; everyone else steps over them without fetching them from the log."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from rooms.audience import QuietRuns
from rooms.bus import InMemoryBus
from rooms.connection import Connection
from rooms.hub import Hub, Participant
from rooms.messages import Chat
from rooms.state import Event, Role
from rooms.store import EventStore
from server.db import Database

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def test_quiet_runs_cover_only_what_was_recorded() -> None:
    runs = QuietRuns(kept=3)
    runs.add(3, 5)
    runs.add(6, 9)  # adjacent: one run 3..9
    runs.add(12, 12)
    assert runs.step_over(2, 100) == 9
    assert runs.step_over(4, 7) == 7  # never past what the caller asks for
    assert runs.step_over(9, 100) == 9  # 10 was not quiet: fetch it
    assert runs.step_over(1, 100) == 1
    assert runs.step_over(11, 100) == 12
    runs.add(14, 14)
    runs.add(16, 16)  # only the last three runs are kept
    assert runs.step_over(2, 100) == 2
    assert runs.step_over(15, 100) == 16


class Client:
    """A connection with an in-memory socket that counts its fetches from the log."""

    def __init__(self, hub: Hub, key: str, role: Role, store: EventStore) -> None:
        self.frames: list[dict[str, object]] = []
        self.fetches = 0

        async def send(frame: str) -> None:
            self.frames.append(json.loads(frame))

        async def close(code: int, reason: str) -> None:
            return None

        async def fetch(after: int, upto: int) -> list[Event]:
            self.fetches += 1
            return await store.since(1, after, upto)

        self.who = Participant(key, "point" if role is Role.POINT else "user", 1, key, role, None)
        self.conn = Connection(
            hub.new_conn_id(),
            key,
            role,
            send,
            close,
            fetch,
            skip=lambda after, upto: hub.step_over(1, after, upto),
        )
        self.writer = asyncio.create_task(self.conn.run_writer())

    def events(self) -> list[str]:
        return [str(f["event"]) for f in self.frames if f["type"] == "event"]


async def test_points_are_not_handed_each_others_joins(database_url: str) -> None:
    database = Database(database_url)
    store = EventStore(database)
    hub = Hub(store, InMemoryBus(), lambda: T0)
    await hub.start()
    try:
        chair = Client(hub, "u:1", Role.CHAIR, store)
        await hub.attach(1, chair.conn, chair.who, None)
        points = [Client(hub, f"p:{n}", Role.POINT, store) for n in range(1, 21)]
        # Joining together: batches of joins, each only about the points in it.
        await asyncio.gather(*(hub.attach(1, p.conn, p.who, None) for p in points))
        await hub.submit(
            1, Chat(type="chat", id="c1", text="hello", to="organizers"), chair.who.actor
        )
        await hub.submit(1, Chat(type="chat", id="c2", text="all of you"), chair.who.actor)
        await asyncio.sleep(0.05)

        assert chair.events() == ["member.joined"] * 20 + ["chat.sent"] * 2
        for point in points:
            assert [f["type"] for f in point.frames] == ["welcome", "event"]
            assert point.events() == ["chat.sent"]
            assert point.fetches == 0  # stepped over the others' joins, nothing fetched
            assert point.conn.last_seq == chair.conn.last_seq
    finally:
        for client in [chair, *points]:
            client.conn.stop()
            await client.writer
        await hub.stop()
        await database.dispose()


async def test_a_gap_that_was_not_quiet_is_still_fetched(database_url: str) -> None:
    database = Database(database_url)
    store = EventStore(database)
    hub = Hub(store, InMemoryBus(), lambda: T0)
    await hub.start()
    try:
        chair = Client(hub, "u:1", Role.CHAIR, store)
        point = Client(hub, "p:1", Role.POINT, store)
        await hub.attach(1, chair.conn, chair.who, None)
        await hub.attach(1, point.conn, point.who, None)
        # An event this process never handed out (lost on the bus, say).
        connections = hub.connections.pop(1)
        await hub.submit(1, Chat(type="chat", id="c1", text="missed"), chair.who.actor)
        hub.connections[1] = connections
        await hub.submit(1, Chat(type="chat", id="c2", text="next"), chair.who.actor)
        await asyncio.sleep(0.05)
        texts = [f["data"]["text"] for f in point.frames if f["type"] == "event"]  # type: ignore[index]
        assert texts == ["missed", "next"]
        assert point.fetches == 1
    finally:
        for client in (chair, point):
            client.conn.stop()
            await client.writer
        await hub.stop()
        await database.dispose()
