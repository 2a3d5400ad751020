"""The live state of the conference network, for the network page's feed.

Every few seconds (only while someone watches) it reads each point's enabled flag and last
sign of life, asks the rooms which points are in a meeting, and sends watchers the points
whose state changed. One read serves every watcher of this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from server.db import Database, utcnow
from server.network.models import ConferencePoint

log = logging.getLogger(__name__)

POLL_SECONDS = 3.0
WATCHER_QUEUE = 64


@dataclass(frozen=True)
class PointState:
    id: int
    online: bool
    meeting_id: int | None
    last_seen_at: datetime | None

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "online": self.online,
            "meeting_id": self.meeting_id,
            "last_seen_at": self.last_seen_at.isoformat() if self.last_seen_at else None,
        }


class NetworkMonitor:
    def __init__(
        self,
        database: Database,
        online_seconds: int,
        points_in_meetings: Callable[[], dict[int, int]],
    ) -> None:
        self.database = database
        self.online_seconds = online_seconds
        self.points_in_meetings = points_in_meetings
        self.states: dict[int, PointState] = {}
        self._watchers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._task: asyncio.Task[None] | None = None

    async def read(self) -> dict[int, PointState]:
        async with self.database.reader() as db:
            rows = await db.execute(
                select(ConferencePoint.id, ConferencePoint.enabled, ConferencePoint.last_seen_at)
            )
            points = rows.all()
        in_meeting = self.points_in_meetings()
        since = utcnow() - timedelta(seconds=self.online_seconds)
        states = {}
        for point_id, enabled, last_seen in points:
            meeting = in_meeting.get(point_id) if enabled else None
            seen_lately = last_seen is not None and last_seen > since
            online = bool(enabled) and (meeting is not None or seen_lately)
            states[point_id] = PointState(point_id, online, meeting, last_seen)
        return states

    @contextlib.asynccontextmanager
    async def watch(self) -> AsyncIterator[asyncio.Queue[dict[str, Any] | None]]:
        """A queue of changes ({"kind": "snapshot"|"change", ...}); the first is a snapshot."""
        if not self._watchers and self._task is None:
            self.states = await self.read()
            self._task = asyncio.create_task(self._run(), name="network-monitor")
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(WATCHER_QUEUE)
        queue.put_nowait({"kind": "snapshot", "points": [s.json() for s in self.states.values()]})
        self._watchers.add(queue)
        try:
            yield queue
        finally:
            self._watchers.discard(queue)
            if not self._watchers and self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
                self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                states = await self.read()
            except Exception:  # keep watching; the next poll retries
                log.exception("network monitor: read failed")
                continue
            changed = [s.json() for k, s in states.items() if self.states.get(k) != s]
            gone = [k for k in self.states if k not in states]
            self.states = states
            if not changed and not gone:
                continue
            message = {"kind": "change", "points": changed, "removed": gone}
            for queue in list(self._watchers):
                try:
                    queue.put_nowait(message)
                except asyncio.QueueFull:
                    # A watcher that cannot keep up starts again from a snapshot.
                    self._watchers.discard(queue)
                    with contextlib.suppress(asyncio.QueueFull):
                        queue.put_nowait(None)
