"""This process's side of every live room: local connections, owned rooms, routing.

A command goes to the room's owner: a Room in this process if it owns (or can claim) the
room, else it is forwarded over the bus. Events come back from the owner through the bus
and are handed to this process's connections of that meeting.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rooms import codec, messages
from rooms.audience import receives
from rooms.bus import Bus
from rooms.connection import Connection, EventFrame, event_frame
from rooms.machine import SYSTEM, Actor, Close, Join, Leave, Open, Rejected, RoomCommand
from rooms.room import Outcome, Room, RoomUnavailable
from rooms.state import Event, Role
from rooms.store import EventStore

log = logging.getLogger(__name__)

# A client resuming further back than this gets a fresh snapshot instead of the events.
MAX_RESUME_EVENTS = 500
# How long a command waits for a dead owner's lease to lapse so this process can take over.
OWNER_WAIT_SECONDS = 15.0


@dataclass(frozen=True)
class Participant:
    """Who a connection is, as the room knows them."""

    key: str
    kind: str
    id: int
    name: str
    role: Role
    unit_id: int | None

    @property
    def actor(self) -> Actor:
        return Actor(self.key, self.role)

    def you(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "name": self.name, "role": self.role.value}


class Hub:
    def __init__(self, store: EventStore, bus: Bus, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.rooms: dict[int, Room] = {}
        self.connections: dict[int, dict[str, Connection]] = {}
        self._claiming: dict[int, asyncio.Lock] = {}
        self._status: dict[int, asyncio.Event] = {}
        self._status_listeners: list[Callable[[int, str], None]] = []
        self._ids = itertools.count(1)

    async def start(self) -> None:
        await self.bus.start(self._deliver, self._on_status, self._on_forward)

    async def stop(self) -> None:
        for conns in self.connections.values():
            for conn in conns.values():
                conn.stop()
        for room in self.rooms.values():
            await room.stop()
            await self.bus.release(room.meeting_id)
        self.rooms.clear()
        await self.bus.stop()

    def new_conn_id(self) -> str:
        return f"{self.bus.proc_id}.{next(self._ids)}"

    # --- commands -------------------------------------------------------------------

    async def submit(
        self,
        meeting_id: int,
        command: RoomCommand,
        actor: Actor,
        *,
        snapshot_for: Actor | None = None,
    ) -> Outcome:
        """Run a command on the room's owner, wherever it is; Rejected if the room refuses.

        If the owner does not answer (it died), wait for its lease to lapse and claim the
        room here; RoomUnavailable if that takes longer than OWNER_WAIT_SECONDS.
        """
        payload = {
            "command": codec.encode_command(command),
            "actor": codec.encode_actor(actor),
            "snapshot_for": codec.encode_actor(snapshot_for) if snapshot_for else None,
        }
        deadline = asyncio.get_running_loop().time() + OWNER_WAIT_SECONDS
        while True:
            room = await self._owned_room(meeting_id)
            if room is not None:
                return await room.submit(command, actor, snapshot_for=snapshot_for)
            try:
                reply = await self.bus.forward(meeting_id, payload)
                break
            except Exception as exc:  # the owner is gone or busy: try again until the deadline
                if asyncio.get_running_loop().time() > deadline:
                    raise RoomUnavailable(f"room {meeting_id}: no owner answers") from exc
                log.info("room %s: owner unreachable (%s); retrying", meeting_id, exc)
                await asyncio.sleep(0.2)
        if "rejected" in reply:
            raise Rejected(reply["rejected"]["code"], reply["rejected"]["message"])
        if "unavailable" in reply:
            raise RoomUnavailable(reply["unavailable"])
        return codec.decode_outcome(reply["outcome"])

    async def _on_forward(self, meeting_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        room = await self._owned_room(meeting_id)
        if room is None:
            return {"unavailable": "this process does not own the room"}
        try:
            viewer = payload.get("snapshot_for")
            outcome = await room.submit(
                codec.decode_command(payload["command"]),
                codec.decode_actor(payload["actor"]),
                snapshot_for=codec.decode_actor(viewer) if viewer else None,
            )
        except Rejected as rejected:
            return {"rejected": {"code": rejected.code, "message": rejected.message}}
        except RoomUnavailable as exc:
            return {"unavailable": str(exc)}
        return {"outcome": codec.encode_outcome(outcome)}

    async def _owned_room(self, meeting_id: int) -> Room | None:
        room = self.rooms.get(meeting_id)
        if room is not None and await self.bus.owns(meeting_id):
            return room
        lock = self._claiming.setdefault(meeting_id, asyncio.Lock())
        async with lock:
            room = self.rooms.get(meeting_id)
            if room is not None:
                if await self.bus.owns(meeting_id):
                    return room
                # The lease lapsed under us (a stall): another process may own it now.
                await room.stop()
                del self.rooms[meeting_id]
            if not await self.bus.claim(meeting_id):
                return None
            room = Room(meeting_id, self.store, self.bus.publish_events, self.clock)
            live = await self.bus.live_processes()
            await room.load(lambda conn: conn.rsplit(".", 1)[0] in live)
            self.rooms[meeting_id] = room
            log.info("room %s: owned by %s at seq %s", meeting_id, self.bus.proc_id, room.state.seq)
            return room

    # --- connections ------------------------------------------------------------------

    async def attach(
        self, meeting_id: int, conn: Connection, who: Participant, resume_from: int | None
    ) -> None:
        """Join the room; the client is sent a snapshot, or what it missed since resume_from."""
        self.connections.setdefault(meeting_id, {})[conn.conn_id] = conn
        try:
            await self.submit(meeting_id, Open(), SYSTEM)
            outcome = await self.submit(
                meeting_id,
                Join(who.key, who.kind, who.id, who.name, who.role, who.unit_id, conn.conn_id),
                SYSTEM,
                snapshot_for=who.actor,
            )
        except BaseException:
            self.connections[meeting_id].pop(conn.conn_id, None)
            raise
        seq = outcome.seq
        if resume_from is not None and 0 <= resume_from <= seq <= resume_from + MAX_RESUME_EVENTS:
            missed = await self.store.since(meeting_id, resume_from, seq)
            frames = [messages.resumed(who.you(), resume_from, seq)]
            frames += [
                event_frame(e) for e in missed if receives(e.kind, e.data, who.key, who.role)
            ]
        else:
            assert outcome.snapshot is not None
            frames = [messages.welcome(who.you(), outcome.snapshot)]
        conn.start_after(seq, frames)

    async def detach(self, meeting_id: int, conn: Connection, who: Participant) -> None:
        self.connections.get(meeting_id, {}).pop(conn.conn_id, None)
        conn.stop()
        try:
            await self.submit(meeting_id, Leave(who.key, conn.conn_id), SYSTEM)
        except (Rejected, RoomUnavailable) as exc:
            log.info("room %s: leave of %s not recorded: %s", meeting_id, conn.conn_id, exc)

    def _deliver(self, meeting_id: int, events: list[Event]) -> None:
        conns = self.connections.get(meeting_id)
        if not conns:
            return
        batch = tuple(EventFrame.of(e) for e in events)
        closing = any(e.kind == "room.closed" for e in events)
        for conn in list(conns.values()):
            conn.events(batch)
            if closing:
                conn.finish("the meeting has ended")

    # --- meeting lifecycle ------------------------------------------------------------

    async def meeting_status_changed(self, meeting_id: int, status: str) -> None:
        """Called after the meeting's status changed in the database (any process)."""
        if status in ("ended", "closed", "cancelled"):
            try:
                await self.submit(meeting_id, Close(), SYSTEM)
            except (Rejected, RoomUnavailable) as exc:
                log.info("room %s: not closed: %s", meeting_id, exc)
        await self.bus.publish_status(meeting_id, status)

    def on_status_change(self, listener: Callable[[int, str], None]) -> None:
        """Call ``listener(meeting_id, status)`` whenever any process changes a meeting."""
        self._status_listeners.append(listener)

    def _on_status(self, meeting_id: int, status: str) -> None:
        for listener in self._status_listeners:
            listener(meeting_id, status)
        waiter = self._status.pop(meeting_id, None)
        if waiter is not None:
            waiter.set()

    async def status_change(self, meeting_id: int) -> None:
        """Wait (in the lobby) until the meeting's status changes; callers bound the wait."""
        await self._status.setdefault(meeting_id, asyncio.Event()).wait()
