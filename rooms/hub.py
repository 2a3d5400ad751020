"""This process's side of every live room: local connections, owned rooms, routing.

A command goes to the room's owner: a Room in this process if it owns (or can claim) the
room, else it is forwarded over the bus. Events come back from the owner through the bus
and are handed to this process's connections of that meeting.

Notices on the bus tell every process that a meeting's status changed (lobbies wake up),
that members must be disconnected (a token was rotated, an invitation withdrawn), and,
every few seconds, each owned room's latest seq, so a connection that missed events on the
bus catches up even when nothing else happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rooms import codec, messages
from rooms.audience import WATCHERS, QuietRuns, by_member, receives
from rooms.background import BackgroundTasks
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
# How often owners announce their rooms' latest seq (connections that missed events catch up).
SEQ_NOTICE_SECONDS = 5.0
# A closed room is unloaded (its task stopped, its lease released) after this long.
UNLOAD_AFTER_SECONDS = 60.0
CLOSING_STATUSES = ("ended", "closed", "cancelled")


@dataclass(frozen=True)
class Participant:
    """Who a connection is, as the room knows them."""

    key: str
    kind: str
    id: int
    name: str
    role: Role
    unit_id: int | None
    session_id: int | None = None

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
        # Per room, who a batch of narrow events goes to (rooms/audience.py).
        self._narrow: dict[int, _NarrowAudience] = {}
        # Every socket of this process, in the lobby or in a room: for disconnecting.
        self._sessions: dict[str, tuple[int, Connection, Participant]] = {}
        self._claiming: dict[int, asyncio.Lock] = {}
        self._lobby: dict[int, asyncio.Event] = {}
        self._meeting_listeners: list[Callable[[int], None]] = []
        self._event_listeners: list[Callable[[int, list[Event]], None]] = []
        self._ids = itertools.count(1)
        self._background = BackgroundTasks()
        self._announcer: asyncio.Task[None] | None = None
        # What other processes last said about their points in rooms: proc -> (when, points).
        self._presence: dict[str, tuple[float, dict[int, int]]] = {}

    async def start(self) -> None:
        await self.bus.start(self._deliver, self._on_notice, self._on_forward)
        self._announcer = asyncio.create_task(self._announce_seqs(), name="hub-seq-notices")

    async def stop(self) -> None:
        if self._announcer is not None:
            self._announcer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._announcer
        for conns in self.connections.values():
            for conn in conns.values():
                conn.stop()
        for room in list(self.rooms.values()):
            await room.stop()
            await self.bus.release(room.meeting_id)
        self.rooms.clear()
        self._background.cancel()
        await self.bus.stop()

    def local_points(self) -> dict[int, int]:
        """Points with a socket in a live room of this process: point id -> meeting id."""
        found: dict[int, int] = {}
        for meeting_id, conns in self.connections.items():
            for conn_id in conns:
                session = self._sessions.get(conn_id)
                if session is not None and session[2].kind == "point":
                    found[session[2].id] = meeting_id
        return found

    def points_in_meetings(self) -> dict[int, int]:
        """Points in a live room in any process (as each process last said): id -> meeting."""
        now = asyncio.get_running_loop().time()
        merged: dict[int, int] = {}
        for proc, (at, points) in list(self._presence.items()):
            if proc == self.bus.proc_id:
                continue
            if now - at > 3 * SEQ_NOTICE_SECONDS:
                del self._presence[proc]
                continue
            merged.update(points)
        merged.update(self.local_points())
        return merged

    def new_conn_id(self) -> str:
        return f"{self.bus.proc_id}.{next(self._ids)}"

    def register(self, meeting_id: int, conn: Connection, who: Participant) -> None:
        """A socket of this process, from its handshake until it closes."""
        self._sessions[conn.conn_id] = (meeting_id, conn, who)

    def unregister(self, conn: Connection) -> None:
        self._sessions.pop(conn.conn_id, None)

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
        room here; RoomUnavailable if that takes longer than OWNER_WAIT_SECONDS. The command
        keeps one request id through every retry, so the room runs it at most once.
        """
        request_id = secrets.token_hex(10)
        payload = {
            "command": codec.encode_command(command),
            "actor": codec.encode_actor(actor),
            "snapshot_for": codec.encode_actor(snapshot_for) if snapshot_for else None,
            "request_id": request_id,
        }
        deadline = asyncio.get_running_loop().time() + OWNER_WAIT_SECONDS
        while True:
            try:
                room = await self._owned_room(meeting_id)
                if room is not None:
                    return await room.submit(
                        command, actor, snapshot_for=snapshot_for, request_id=request_id
                    )
                reply = await self.bus.forward(meeting_id, payload)
                if "rejected" in reply:
                    raise Rejected(reply["rejected"]["code"], reply["rejected"]["message"])
                if "outcome" in reply:
                    return codec.decode_outcome(reply["outcome"])
                raise RoomUnavailable(reply.get("unavailable", "no answer"))
            except Rejected:
                raise
            except Exception as exc:  # no owner, a dead owner, a lost lease: try again
                if asyncio.get_running_loop().time() > deadline:
                    raise RoomUnavailable(f"room {meeting_id}: no owner answers") from exc
                log.info("room %s: owner unavailable (%s); retrying", meeting_id, exc)
                await asyncio.sleep(0.2)

    async def _on_forward(self, meeting_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        room = await self._owned_room(meeting_id)
        if room is None:
            return {"unavailable": "this process does not own the room"}
        viewer = payload.get("snapshot_for")
        try:
            outcome = await room.submit(
                codec.decode_command(payload["command"]),
                codec.decode_actor(payload["actor"]),
                snapshot_for=codec.decode_actor(viewer) if viewer else None,
                request_id=payload.get("request_id"),
            )
        except Rejected as rejected:
            return {"rejected": {"code": rejected.code, "message": rejected.message}}
        except RoomUnavailable as exc:
            return {"unavailable": str(exc)}
        return {"outcome": codec.encode_outcome(outcome)}

    async def _owned_room(self, meeting_id: int) -> Room | None:
        room = self.rooms.get(meeting_id)
        if room is not None and room.broken is None and await self.bus.owns(meeting_id):
            return room
        lock = self._claiming.setdefault(meeting_id, asyncio.Lock())
        async with lock:
            room = self.rooms.get(meeting_id)
            if room is not None:
                if room.broken is None and await self.bus.owns(meeting_id):
                    return room
                # A lapsed lease (a stall), another process's writes, or an unreadable log:
                # this copy of the room can no longer be trusted.
                log.warning("room %s: dropping this copy (%s)", meeting_id, room.broken)
                await room.stop()
                del self.rooms[meeting_id]
                await self.bus.release(meeting_id)
            if not await self.bus.claim(meeting_id):
                return None
            room = Room(meeting_id, self.store, self._publish, self.clock)
            live = await self.bus.live_processes()
            try:
                await room.load(lambda conn: conn.rsplit(".", 1)[0] in live)
            except Exception:
                await room.stop()
                await self.bus.release(meeting_id)
                raise
            self.rooms[meeting_id] = room
            log.info("room %s: owned by %s at seq %s", meeting_id, self.bus.proc_id, room.state.seq)
            return room

    async def _publish(self, meeting_id: int, events: list[Event]) -> None:
        await self.bus.publish_events(meeting_id, events)
        if any(e.kind == "room.closed" for e in events):
            self._background.start(self._unload_later(meeting_id))

    async def _unload_later(self, meeting_id: int) -> None:
        await asyncio.sleep(UNLOAD_AFTER_SECONDS)
        room = self.rooms.get(meeting_id)
        if room is not None and room.state.closed and not self.connections.get(meeting_id):
            del self.rooms[meeting_id]
            await room.stop()
            await self.bus.release(meeting_id)

    async def _announce_seqs(self) -> None:
        while True:
            await asyncio.sleep(SEQ_NOTICE_SECONDS)
            with contextlib.suppress(Exception):
                await self.bus.publish_notice(
                    {
                        "kind": "presence",
                        "proc": self.bus.proc_id,
                        "points": {str(k): v for k, v in self.local_points().items()},
                    }
                )
            for meeting_id, room in list(self.rooms.items()):
                if room.published_seq and room.broken is None:
                    with contextlib.suppress(Exception):
                        await self.bus.publish_notice(
                            {"kind": "seq", "meeting_id": meeting_id, "seq": room.published_seq}
                        )

    # --- connections ------------------------------------------------------------------

    async def attach(
        self, meeting_id: int, conn: Connection, who: Participant, resume_from: int | None
    ) -> None:
        """Join the room; the client is sent a snapshot, or what it missed since resume_from."""
        self.connections.setdefault(meeting_id, {})[conn.conn_id] = conn
        self._narrow.setdefault(meeting_id, _NarrowAudience()).add(conn)
        try:
            await self.submit(meeting_id, Open(), SYSTEM)
            outcome = await self.submit(
                meeting_id,
                Join(who.key, who.kind, who.id, who.name, who.role, who.unit_id, conn.conn_id),
                SYSTEM,
                snapshot_for=who.actor,
            )
        except BaseException:
            self._forget(meeting_id, conn)
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
        self._forget(meeting_id, conn)
        conn.stop()
        try:
            await self.submit(meeting_id, Leave(who.key, conn.conn_id), SYSTEM)
        except (Rejected, RoomUnavailable) as exc:
            log.info("room %s: leave of %s not recorded: %s", meeting_id, conn.conn_id, exc)

    def _forget(self, meeting_id: int, conn: Connection) -> None:
        conns = self.connections.get(meeting_id, {})
        conns.pop(conn.conn_id, None)
        narrow = self._narrow.get(meeting_id)
        if narrow is not None:
            narrow.remove(conn)
            if not conns:
                del self._narrow[meeting_id]

    def step_over(self, meeting_id: int, after: int, upto: int) -> int:
        """How far past ``after`` (up to ``upto``) a connection that is not a watcher may
        move without fetching: over the narrow events this process handed only to others."""
        narrow = self._narrow.get(meeting_id)
        return narrow.quiet.step_over(after, upto) if narrow is not None else after

    def on_events(self, listener: Callable[[int, list[Event]], None]) -> None:
        """Call ``listener(meeting_id, events)`` with every batch of room events this
        process receives (the media plane follows its rooms this way)."""
        self._event_listeners.append(listener)

    def _deliver(self, meeting_id: int, events: list[Event]) -> None:
        for listener in self._event_listeners:
            try:
                listener(meeting_id, events)
            except Exception:
                log.exception("room %s: an event listener failed", meeting_id)
        conns = self.connections.get(meeting_id)
        if not conns:
            return
        batch = tuple(EventFrame.of(e) for e in events)
        closing = any(e.kind == "room.closed" for e in events)
        narrow = self._narrow.get(meeting_id)
        members = by_member(batch) if narrow is not None and batch and not closing else None
        if narrow is not None and members is not None and narrow.quiet_batch(batch):
            narrow.deliver(batch, members)
            return
        for conn in list(conns.values()):
            conn.events(batch)
            if closing:
                conn.finish("the meeting has ended")

    # --- notices: meeting status, disconnections, seqs ----------------------------------

    async def meeting_status_changed(self, meeting_id: int, status: str) -> None:
        """Called after the meeting's status changed in the database (any process)."""
        await self.bus.publish_notice(
            {"kind": "status", "meeting_id": meeting_id, "status": status}
        )
        if status in CLOSING_STATUSES:
            self._background.start(self._close_room(meeting_id))

    async def _close_room(self, meeting_id: int) -> None:
        # The meeting is over in the database; the room must follow even if its owner is
        # being replaced right now: retry until it is closed or was never opened.
        for attempt in range(20):
            try:
                await self.submit(meeting_id, Close(), SYSTEM)
                return
            except Rejected:
                return  # not open (nobody ever came), or closed already
            except RoomUnavailable as exc:
                log.warning("room %s: close failed (%s); retrying", meeting_id, exc)
                await asyncio.sleep(min(30.0, 0.5 * 2**attempt))

    async def disconnect(
        self,
        *,
        key: str | None = None,
        session_id: int | None = None,
        meeting_id: int | None = None,
        reason: str = "access withdrawn",
    ) -> None:
        """Close, in every process, the sockets of a member (or of a sign-in session)."""
        await self.bus.publish_notice(
            {
                "kind": "disconnect",
                "key": key,
                "session_id": session_id,
                "meeting_id": meeting_id,
                "reason": reason,
            }
        )

    async def invitations_changed(self, meeting_id: int) -> None:
        """Who may enter the meeting's room changed: every process forgets what it cached."""
        await self.bus.publish_notice({"kind": "changed", "meeting_id": meeting_id})

    def on_meeting_change(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(meeting_id)`` whenever any process changes a meeting's status or
        who may be in its room."""
        self._meeting_listeners.append(listener)

    def lobby_waiter(self, meeting_id: int) -> asyncio.Event:
        """An event set at the meeting's next status change. Take it before reading the
        status, so a change between the read and the wait is not missed."""
        return self._lobby.setdefault(meeting_id, asyncio.Event())

    def _on_notice(self, notice: dict[str, Any]) -> None:
        kind = notice.get("kind")
        if notice.get("meeting_id") is not None and kind in ("status", "disconnect", "changed"):
            for listener in self._meeting_listeners:
                listener(notice["meeting_id"])
        if kind == "status":
            waiter = self._lobby.pop(notice["meeting_id"], None)
            if waiter is not None:
                waiter.set()
        elif kind == "disconnect":
            self._disconnect_local(notice)
        elif kind == "presence":
            points = {int(k): int(v) for k, v in notice["points"].items()}
            self._presence[notice["proc"]] = (asyncio.get_running_loop().time(), points)
        elif kind == "seq":
            for conn in self.connections.get(notice["meeting_id"], {}).values():
                conn.catch_up(notice["seq"])

    def _disconnect_local(self, notice: dict[str, Any]) -> None:
        for meeting_id, conn, who in list(self._sessions.values()):
            if notice.get("meeting_id") not in (None, meeting_id):
                continue
            if (notice.get("key") and who.key == notice["key"]) or (
                notice.get("session_id") and who.session_id == notice["session_id"]
            ):
                conn.control(messages.error("disconnected", notice.get("reason", "")))
                conn.finish(notice.get("reason", ""), code=4403)


class _NarrowAudience:
    """A room's connections in this process by who narrow events go to: the watchers, and
    each member's own connections; and the runs of such events the others did not get."""

    def __init__(self) -> None:
        self.watching: dict[str, Connection] = {}
        self.by_key: dict[str, dict[str, Connection]] = {}
        self.quiet = QuietRuns()

    def add(self, conn: Connection) -> None:
        if conn.role in WATCHERS:
            self.watching[conn.conn_id] = conn
        self.by_key.setdefault(conn.key, {})[conn.conn_id] = conn

    def remove(self, conn: Connection) -> None:
        self.watching.pop(conn.conn_id, None)
        own = self.by_key.get(conn.key)
        if own is not None:
            own.pop(conn.conn_id, None)
            if not own:
                del self.by_key[conn.key]

    def quiet_batch(self, batch: tuple[EventFrame, ...]) -> bool:
        """Note the batch as a quiet run, if its seqs follow one another."""
        first, last = batch[0].seq, batch[-1].seq
        if last - first + 1 != len(batch):
            return False
        self.quiet.add(first, last)
        return True

    def deliver(self, batch: tuple[EventFrame, ...], members: dict[str, list[EventFrame]]) -> None:
        """The whole batch to the watchers; to each member's other connections, only the
        events about that member (they step over the rest)."""
        for conn in list(self.watching.values()):
            conn.events(batch)
        for key, own in members.items():
            for conn in list(self.by_key.get(key, {}).values()):
                if conn.conn_id not in self.watching:
                    conn.events(tuple(own))
