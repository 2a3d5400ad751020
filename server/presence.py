"""Recording, in batches, that points were seen and that invitees attended.

A join storm (200 points entering a meeting at 08:00) would otherwise cost two write
transactions per point. Here each join only notes ids in memory; a flush every second
writes them all in two statements. At shutdown whatever is noted is flushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

from sqlalchemy import Table, bindparam, update

from server.db import Database, utcnow
from server.meetings.models import Invitation, InvitationState
from server.network.models import ConferencePoint

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
# Points connected to a room show signs of life on their own only at connect: note them
# as seen this often while they stay.
CONNECTED_SEEN_SECONDS = 30.0


class PresenceRecorder:
    def __init__(
        self, database: Database, connected_points: Callable[[], dict[int, int]] | None = None
    ) -> None:
        self.database = database
        self.connected_points = connected_points
        self._seen_points: set[int] = set()
        self._attended: set[tuple[int, str, int]] = set()  # (meeting, "point"|"user", id)
        self._links: dict[int, dict[str, Any]] = {}  # point id -> its latest link figures
        self._flushed = asyncio.Event()

    def point_seen(self, point_id: int) -> None:
        self._seen_points.add(point_id)

    def link_stats(self, point_id: int, figures: dict[str, Any]) -> None:
        """The media plane's latest figures for a point's link, kept on the point."""
        self._links[point_id] = {**figures, "at": utcnow().isoformat()}

    def attended(self, meeting_id: int, kind: str, invitee_id: int) -> None:
        self._attended.add((meeting_id, kind, invitee_id))

    async def flush(self) -> None:
        seen, self._seen_points = self._seen_points, set()
        attended, self._attended = self._attended, set()
        links, self._links = self._links, {}
        if not seen and not attended and not links:
            return
        async with self.database.writer() as db:
            if seen:
                await db.execute(
                    update(ConferencePoint)
                    .where(ConferencePoint.id.in_(seen))
                    .values(last_seen_at=utcnow())
                )
            if links:
                points = cast(Table, ConferencePoint.__table__)
                await db.execute(
                    # Core, not ORM: one executemany, whatever the session holds.
                    update(points)
                    .where(points.c.id == bindparam("point"))
                    .values(last_link_stats=bindparam("figures")),
                    [{"point": k, "figures": v} for k, v in links.items()],
                )
            by_meeting: dict[tuple[int, str], list[int]] = {}
            for meeting_id, kind, invitee_id in attended:
                by_meeting.setdefault((meeting_id, kind), []).append(invitee_id)
            for (meeting_id, kind), ids in by_meeting.items():
                column = Invitation.point_id if kind == "point" else Invitation.user_id
                await db.execute(
                    update(Invitation)
                    .where(
                        Invitation.meeting_id == meeting_id,
                        column.in_(ids),
                        Invitation.state != InvitationState.ATTENDED,
                    )
                    .values(state=InvitationState.ATTENDED)
                )
            await db.commit()

    async def _loop(self, stop: asyncio.Event) -> None:
        last_sweep = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), FLUSH_SECONDS)
            if self.connected_points and loop.time() - last_sweep >= CONNECTED_SEEN_SECONDS:
                last_sweep = loop.time()
                for point_id in self.connected_points():
                    self.point_seen(point_id)
            try:
                await self.flush()
            except Exception:  # keep recording; the next flush retries with new ids
                log.exception("presence: flush failed")

    @asynccontextmanager
    async def running(self) -> AsyncIterator[PresenceRecorder]:
        stop = asyncio.Event()
        task = asyncio.create_task(self._loop(stop), name="presence")
        try:
            yield self
        finally:
            stop.set()
            await task
