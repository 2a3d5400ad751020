"""Two hubs (as two processes would) sharing rooms through a real Redis."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from rooms import messages
from rooms.connection import Connection
from rooms.hub import Hub, Participant
from rooms.redis_bus import LEASE_MS, RedisBus
from rooms.state import Event, Role
from rooms.store import EventStore
from server.db import Database
from tests.roomclient import addressed_to


def _clock() -> datetime:
    return datetime.now(UTC)


class Client:
    """A connection with an in-memory socket: what it was sent, in order."""

    def __init__(self, hub: Hub, meeting_id: int, who: Participant) -> None:
        self.frames: list[dict[str, object]] = []
        self.changed = asyncio.Event()

        async def send(frame: str) -> None:
            self.frames.append(json.loads(frame))
            self.changed.set()

        async def close(code: int, reason: str) -> None:
            return None

        async def fetch(after: int, upto: int) -> list[Event]:
            return await hub.store.since(meeting_id, after, upto)

        self.conn = Connection(hub.new_conn_id(), who.key, who.role, send, close, fetch)
        self.writer = asyncio.create_task(self.conn.run_writer())

    def seqs(self) -> list[int]:
        return [f["seq"] for f in self.frames if f.get("type") == "event"]  # type: ignore[misc]

    async def until(self, predicate, within: float = 10) -> None:  # type: ignore[no-untyped-def]
        async with asyncio.timeout(within):
            while not predicate(self):
                self.changed.clear()
                await self.changed.wait()


CHAIR = Participant("u:1", "user", 1, "Chủ tọa", Role.CHAIR, None)
POINT = Participant("p:7", "point", 7, "Xã Tân Phú", Role.POINT, None)


async def _hub(database_url: str, redis_url: str, prefix: str, name: str) -> Hub:
    hub = Hub(EventStore(Database(database_url)), RedisBus(redis_url, prefix, name), _clock)
    await hub.start()
    return hub


def _crash(hub: Hub) -> None:
    """Stop a hub the way kill -9 stops a process: no lease released, nothing said."""
    bus = hub.bus
    assert isinstance(bus, RedisBus)
    for task in bus._tasks:
        task.cancel()
    for room in hub.rooms.values():
        if room._task is not None:
            room._task.cancel()
    bus._owned.clear()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_commands_forward_to_the_owner_and_ownership_fails_over(
    database_url: str, redis_url: str, redis_prefix: str
) -> None:
    a = await _hub(database_url, redis_url, redis_prefix, "proc-a")
    b = await _hub(database_url, redis_url, redis_prefix, "proc-b")
    meeting = 42
    chair = Client(a, meeting, CHAIR)
    await a.attach(meeting, chair.conn, CHAIR, None)
    assert await a.bus.owns(meeting)
    point = Client(b, meeting, POINT)
    await b.attach(meeting, point.conn, POINT, None)  # forwarded to a
    assert not await b.bus.owns(meeting)

    raised = messages.decode_command('{"type": "raise_hand", "id": "1"}')
    await b.submit(meeting, raised, POINT.actor)
    await chair.until(lambda c: any(f.get("event") == "hand.raised" for f in c.frames))
    await point.until(lambda c: any(f.get("event") == "hand.raised" for f in c.frames))

    # The owner dies. The next command from b waits for the lease to lapse, then b owns
    # the room, rebuilt from the log, without a's connection.
    _crash(a)
    started = asyncio.get_running_loop().time()
    grant = messages.decode_command('{"type": "lower_hand", "id": "2"}')
    outcome = await b.submit(meeting, grant, POINT.actor)
    waited = asyncio.get_running_loop().time() - started
    assert waited >= LEASE_MS / 1000 * 0.5
    assert await b.bus.owns(meeting)
    room = b.rooms[meeting]
    assert set(room.state.members) == {"p:7"}
    store_seqs = [e.seq for e in await b.store.since(meeting, 0)]
    assert store_seqs == list(range(1, outcome.seq + 1))
    await point.until(lambda c: c.seqs() and c.seqs()[-1] == outcome.seq)
    log = await b.store.since(meeting, 0)
    assert point.seqs() == addressed_to(log, "p:7", "point", after=point.seqs()[0] - 1)
    await b.stop()
    # What the dead process left open, closed so the test leaks nothing.
    assert isinstance(a.bus, RedisBus)
    await asyncio.gather(*a.bus._tasks, return_exceptions=True)
    await a.bus.client.aclose()
    await a.store.database.dispose()
    await b.store.database.dispose()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_redis_coming_back_empty_drops_no_live_connection(
    database_url: str, redis_url: str, redis_prefix: str
) -> None:
    """Redis restarted without persistence: no lease, no record of who is alive. The room
    is rebuilt by whoever needs it first, and nobody still connected is marked gone."""
    a = await _hub(database_url, redis_url, redis_prefix, "proc-a")
    b = await _hub(database_url, redis_url, redis_prefix, "proc-b")
    meeting = 43
    chair = Client(a, meeting, CHAIR)
    await a.attach(meeting, chair.conn, CHAIR, None)
    point = Client(b, meeting, POINT)
    await b.attach(meeting, point.conn, POINT, None)
    await chair.until(lambda c: any(f.get("event") == "member.joined" for f in c.frames[1:]))

    # Everything this deployment kept in Redis is gone, as after a restart.
    assert isinstance(a.bus, RedisBus)
    keys = [k async for k in a.bus.client.scan_iter(f"{redis_prefix}*")]
    await a.bus.client.delete(*keys)

    raised = messages.decode_command('{"type": "raise_hand", "id": "3"}')
    outcome = await b.submit(meeting, raised, POINT.actor)
    log = await b.store.since(meeting, 0)
    assert not [e for e in log if e.kind == "member.left"], [(e.kind, e.data) for e in log]
    owner = a if meeting in a.rooms and await a.bus.owns(meeting) else b
    assert set(owner.rooms[meeting].state.members) == {"u:1", "p:7"}
    await point.until(lambda c: c.seqs() and c.seqs()[-1] == outcome.seq)
    for hub in (a, b):
        await hub.stop()
        await hub.store.database.dispose()
