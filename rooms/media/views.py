"""The media plane's own copy of each room's state, kept by following the room's events.

The hub hands every batch of events this process receives to ``on_events``; they are
folded with ``rooms.state.evolve``, so it works the same whichever process owns the room.
A gap (an event lost on the bus) is healed by folding the persisted log again. Whenever a
meeting's state changes in a way media cares about (``policy.MEDIA_EVENTS``; not for every
chat line), ``changed(meeting_id, state)`` is called.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rooms.media.policy import MEDIA_EVENTS
from rooms.state import (
    AgendaCurrent,
    Event,
    Floor,
    Member,
    Recording,
    Role,
    RoomState,
    evolve,
)
from rooms.store import EventStore

log = logging.getLogger(__name__)


class RoomViews:
    def __init__(self, store: EventStore, changed: Callable[[int, RoomState], None]) -> None:
        self.store = store
        self._changed = changed
        self.states: dict[int, RoomState] = {}
        self._loading: dict[int, asyncio.Task[None]] = {}
        self._pending: dict[int, list[Event]] = {}

    async def follow(self, meeting_id: int) -> RoomState:
        """Start following a meeting (reading its log once); its state, once read."""
        if meeting_id not in self.states:
            self.states[meeting_id] = RoomState(meeting_id)
            self._reload(meeting_id)
        loading = self._loading.get(meeting_id)
        if loading is not None:
            await asyncio.shield(loading)
        return self.states[meeting_id]

    def forget(self, meeting_id: int) -> None:
        self.states.pop(meeting_id, None)
        self._pending.pop(meeting_id, None)

    def on_events(self, meeting_id: int, events: list[Event]) -> None:
        if meeting_id not in self.states:
            return
        if meeting_id in self._loading:
            self._pending.setdefault(meeting_id, []).extend(events)
            return
        state = self.states[meeting_id]
        relevant = False
        for event in events:
            if event.seq <= state.seq:
                continue
            if event.seq != state.seq + 1:
                self._reload(meeting_id)
                return
            evolve(state, event)
            relevant = relevant or event.kind in MEDIA_EVENTS
        if relevant:
            self._changed(meeting_id, state)

    def _reload(self, meeting_id: int) -> None:
        if meeting_id in self._loading:
            return
        self._pending[meeting_id] = []
        task = asyncio.get_running_loop().create_task(self._fold(meeting_id))
        self._loading[meeting_id] = task

    async def _fold(self, meeting_id: int) -> None:
        try:
            state = RoomState(meeting_id)
            for event in await self.store.since(meeting_id, 0):
                evolve(state, event)
            for event in self._pending.pop(meeting_id, []):
                if event.seq == state.seq + 1:
                    evolve(state, event)
            if meeting_id in self.states:
                self.states[meeting_id] = state
        except Exception:
            log.exception("media %s: could not read the room's events", meeting_id)
        finally:
            self._loading.pop(meeting_id, None)
        if meeting_id in self.states:
            self._changed(meeting_id, self.states[meeting_id])


# What a media worker needs of the state (rooms/media/policy.py reads no more than this).


def state_to_wire(state: RoomState) -> dict[str, Any]:
    return {
        "meeting_id": state.meeting_id,
        "seq": state.seq,
        "open": state.open,
        "closed": state.closed,
        "members": [[m.key, m.role.value, m.name] for m in state.members.values()],
        "floor": [state.floor.key, state.floor.name] if state.floor else None,
        "muted": sorted(state.muted),
        "recording": state.recording.number if state.recording else None,
        "agenda_item": (
            [state.agenda_item.item_id, state.agenda_item.title] if state.agenda_item else None
        ),
    }


def state_from_wire(data: dict[str, Any]) -> RoomState:
    now = datetime.now(UTC)
    state = RoomState(data["meeting_id"], seq=data["seq"], open=data["open"], closed=data["closed"])
    for key, role, name in data["members"]:
        kind, _, ident = key.partition(":")
        state.members[key] = Member(
            key, "point" if kind == "p" else "user", int(ident), name, Role(role), None, now
        )
    if data["floor"]:
        state.floor = Floor(data["floor"][0], now, None, data["floor"][1])
    state.muted = set(data["muted"])
    if data.get("agenda_item"):
        state.agenda_item = AgendaCurrent(*data["agenda_item"])
    if data["recording"] is not None:
        state.recording = Recording(data["recording"], now, "")
        state.recordings_made = data["recording"]
    return state
