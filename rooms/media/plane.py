"""This process's media: a MediaRoom per meeting with local participants, kept in step
with the room's state (rooms/media/views.py). With media workers configured, the
server uses rooms/media/remote.py instead, which has the same methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiortc import RTCIceServer

from rooms.background import BackgroundTasks
from rooms.media import aiortc_hooks
from rooms.media.recorder import Finished
from rooms.media.room import MediaError, MediaRoom
from rooms.media.views import RoomViews
from rooms.state import Event, Role, RoomState
from rooms.store import EventStore

log = logging.getLogger(__name__)

STATS_SECONDS = 5.0


class MediaPlane:
    def __init__(
        self,
        store: EventStore,
        ice_servers: list[RTCIceServer] | None = None,
        recordings: Path | None = None,
        on_recording: Callable[[Finished], Awaitable[None]] | None = None,
    ) -> None:
        aiortc_hooks.check()
        self.store = store
        self.ice_servers = ice_servers or []
        self.recordings = recordings
        self.on_recording = on_recording
        # Latest link figures per meeting and member, sampled every STATS_SECONDS.
        self.links: dict[int, dict[str, dict[str, Any]]] = {}
        self.on_link_stats: Callable[[int, dict[str, dict[str, Any]]], None] | None = None
        self._sampler: asyncio.Task[None] | None = None
        self.rooms: dict[int, MediaRoom] = {}
        self.views = RoomViews(store, self._state_changed)
        self._background = BackgroundTasks()

    # --- commands from a participant's socket ----------------------------------------

    async def offer(
        self,
        meeting_id: int,
        conn_id: str,
        member: str,
        role: Role,
        sdp: str,
        notify: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        room = await self._room(meeting_id)
        answer = await room.negotiate(conn_id, member, role, sdp, notify)
        return {"answer": {"type": "answer", "sdp": answer}, "slots": room.layout(conn_id)}

    async def candidate(
        self, meeting_id: int, conn_id: str, candidate: str, mid: str | None, index: int | None
    ) -> None:
        room = self.rooms.get(meeting_id)
        if room is None:
            raise MediaError("no_peer", "send an offer first")
        await room.add_candidate(conn_id, candidate, mid, index)

    async def thumbnails(self, meeting_id: int, conn_id: str, page: int) -> dict[str, Any]:
        room = self.rooms.get(meeting_id)
        if room is None:
            raise MediaError("no_thumbnails", "this connection receives no thumbnails")
        return room.set_page(conn_id, page)

    async def leave(self, meeting_id: int, conn_id: str) -> None:
        room = self.rooms.get(meeting_id)
        if room is None:
            return
        await room.drop(conn_id)
        if not room.peers:
            await self._close_room(meeting_id)

    async def close(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
        for meeting_id in list(self.rooms):
            await self._close_room(meeting_id)
        self._background.cancel()

    # --- following the room -----------------------------------------------------------

    def on_events(self, meeting_id: int, events: list[Event]) -> None:
        """The hub's listener: every event of every meeting delivered to this process."""
        self.views.on_events(meeting_id, events)

    def _state_changed(self, meeting_id: int, state: RoomState) -> None:
        room = self.rooms.get(meeting_id)
        if room is not None:
            room.update(state)
        if state.closed:
            self._background.start(self._close_room(meeting_id))

    async def _room(self, meeting_id: int) -> MediaRoom:
        if meeting_id not in self.rooms:
            self.rooms[meeting_id] = MediaRoom(
                meeting_id, self.ice_servers, self.recordings, self.on_recording
            )
            if self._sampler is None or self._sampler.done():
                self._sampler = asyncio.get_running_loop().create_task(self._sample_links())
        state = await self.views.follow(meeting_id)
        room = self.rooms.get(meeting_id)
        if room is None or state.closed:
            raise MediaError("room_closed", "the meeting has ended")
        return room

    async def _sample_links(self) -> None:
        while self.rooms:
            await asyncio.sleep(STATS_SECONDS)
            for meeting_id, room in list(self.rooms.items()):
                try:
                    links = await room.link_stats()
                except Exception:
                    log.exception("media %s: link statistics failed", meeting_id)
                    continue
                self.links[meeting_id] = links
                if self.on_link_stats is not None:
                    self.on_link_stats(meeting_id, links)

    async def _close_room(self, meeting_id: int) -> None:
        self.links.pop(meeting_id, None)
        room = self.rooms.pop(meeting_id, None)
        self.views.forget(meeting_id)
        if room is not None:
            await room.close()
