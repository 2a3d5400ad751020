"""Who may enter a meeting's room, cached for a moment.

A join storm brings hundreds of sockets for one meeting within a second or two; each
would read the same meeting row and invitation list. They are read once and kept for
ADMISSION_SECONDS. A change of status (start, end) forgets the entry at once (every
process hears of it on the bus); a new or withdrawn invitation is seen within that window.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.meetings.models import Invitation, Meeting

ADMISSION_SECONDS = 3.0


@dataclass(frozen=True)
class Admission:
    meeting: Meeting
    points: frozenset[int]
    users: frozenset[int]
    read_at: float


class AdmissionCache:
    def __init__(self) -> None:
        self._entries: dict[int, Admission] = {}
        # Bumped by forget(): a read that started before a forget must not be stored after.
        self._generation: dict[int, int] = {}

    def forget(self, meeting_id: int) -> None:
        self._entries.pop(meeting_id, None)
        self._generation[meeting_id] = self._generation.get(meeting_id, 0) + 1

    async def get(self, db: AsyncSession, meeting_id: int) -> Admission | None:
        """The meeting with its invited point and user ids, or None if there is no such meeting."""
        now = time.monotonic()
        entry = self._entries.get(meeting_id)
        if entry is not None and now - entry.read_at < ADMISSION_SECONDS:
            return entry
        generation = self._generation.get(meeting_id, 0)
        meeting = await db.get(Meeting, meeting_id)
        if meeting is None:
            self.forget(meeting_id)
            return None
        rows = await db.execute(
            select(Invitation.point_id, Invitation.user_id).where(
                Invitation.meeting_id == meeting_id
            )
        )
        points: set[int] = set()
        users: set[int] = set()
        for point_id, user_id in rows:
            if point_id is not None:
                points.add(point_id)
            elif user_id is not None:
                users.add(user_id)
        entry = Admission(meeting, frozenset(points), frozenset(users), now)
        if self._generation.get(meeting_id, 0) == generation:
            self._entries[meeting_id] = entry
        return entry
