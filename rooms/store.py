"""Reading and appending a room's event log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update

from rooms.models import RoomEvent, SecretBallot
from rooms.state import Event
from server.db import Database


@dataclass(frozen=True)
class BallotWrite:
    """A secret ballot put in the box (``new``) or changed by the holder of its id."""

    id: str
    poll: int
    option: int
    new: bool


class EventStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def append(
        self, meeting_id: int, events: list[Event], ballots: Sequence[BallotWrite] = ()
    ) -> None:
        """Persist events, and the secret ballots cast with them, in one transaction (all
        or none)."""
        if not events and not ballots:
            return
        async with self.database.writer() as db:
            for ballot in ballots:
                if ballot.new:
                    db.add(
                        SecretBallot(
                            id=ballot.id,
                            meeting_id=meeting_id,
                            poll=ballot.poll,
                            option=ballot.option,
                        )
                    )
                else:
                    await db.execute(
                        update(SecretBallot)
                        .where(SecretBallot.id == ballot.id)
                        .values(option=ballot.option)
                    )
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

    async def ballot_option(self, meeting_id: int, poll: int, ballot_id: str) -> int | None:
        async with self.database.reader() as db:
            value = await db.scalar(
                select(SecretBallot.option).where(
                    SecretBallot.id == ballot_id,
                    SecretBallot.meeting_id == meeting_id,
                    SecretBallot.poll == poll,
                )
            )
        return None if value is None else int(value)

    async def box_counts(self, meeting_id: int, poll: int, options: int) -> list[int]:
        """How many ballots in the box chose each option."""
        counts = [0] * options
        async with self.database.reader() as db:
            rows = await db.execute(
                select(SecretBallot.option, func.count())
                .where(SecretBallot.meeting_id == meeting_id, SecretBallot.poll == poll)
                .group_by(SecretBallot.option)
            )
            for option, count in rows:
                counts[option] += count
        return counts

    async def last_seq(self, meeting_id: int) -> int:
        async with self.database.reader() as db:
            value = await db.scalar(
                select(func.max(RoomEvent.seq)).where(RoomEvent.meeting_id == meeting_id)
            )
        return int(value or 0)
