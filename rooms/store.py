"""Reading and appending a room's event log."""

from __future__ import annotations

from sqlalchemy import func, select

from rooms.models import RoomEvent
from rooms.state import Event
from server.db import Database


class EventStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def append(self, meeting_id: int, events: list[Event]) -> None:
        """Persist events in one transaction (all or none)."""
        if not events:
            return
        async with self.database.writer() as db:
            db.add_all(
                RoomEvent(
                    meeting_id=meeting_id,
                    seq=e.seq,
                    kind=e.kind,
                    at=e.at,
                    actor=e.actor,
                    data=e.data,
                    request_id=e.request_id,
                )
                for e in events
            )
            await db.commit()

    async def since(self, meeting_id: int, after: int, upto: int | None = None) -> list[Event]:
        """Events with ``after < seq <= upto`` in order."""
        query = select(RoomEvent).where(RoomEvent.meeting_id == meeting_id, RoomEvent.seq > after)
        if upto is not None:
            query = query.where(RoomEvent.seq <= upto)
        async with self.database.reader() as db:
            rows = (await db.execute(query.order_by(RoomEvent.seq))).scalars().all()
        return [Event(r.seq, r.kind, r.at, r.actor, r.data, r.request_id) for r in rows]

    async def last_seq(self, meeting_id: int) -> int:
        async with self.database.reader() as db:
            value = await db.scalar(
                select(func.max(RoomEvent.seq)).where(RoomEvent.meeting_id == meeting_id)
            )
        return int(value or 0)
