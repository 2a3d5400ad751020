"""The server's side of media workers: the same methods as the in-process MediaPlane, but
every peer connection lives on a worker (rooms/media/worker.py).

Placement: a meeting's participants fill the worker that already serves the meeting up
to ``per_worker`` peers, then the least loaded worker takes the next ones. The server
follows each room's state (rooms/media/views.py) and sends it, with the list of the
meeting's workers and where each member publishes, to every worker in the meeting.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rooms.background import BackgroundTasks
from rooms.media import wire
from rooms.media.recorder import Finished
from rooms.media.room import MediaError
from rooms.media.views import RoomViews, state_to_wire
from rooms.state import Event, Role, RoomState
from rooms.store import EventStore

log = logging.getLogger(__name__)

REPLY_SECONDS = 15.0


@dataclass
class WorkerLink:
    address: str
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    pending: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    conns: set[str] = field(default_factory=set)

    @property
    def up(self) -> bool:
        return self.writer is not None and not self.writer.is_closing()


@dataclass
class Placement:
    meeting_id: int
    worker: WorkerLink
    member: str
    publishes: bool
    notify: Callable[[dict[str, Any]], None] | None


class RemoteMediaPlane:
    def __init__(
        self,
        store: EventStore,
        addresses: list[str],
        secret: str,
        per_worker: int,
        ice_servers: list[dict[str, Any]] | None = None,
        on_recording: Callable[[Finished], Awaitable[None]] | None = None,
    ) -> None:
        self.workers = [WorkerLink(address) for address in addresses]
        self.secret = secret
        self.per_worker = per_worker
        self.ice_servers = ice_servers or []
        self.on_recording = on_recording
        self.views = RoomViews(store, self._state_changed)
        self.placements: dict[str, Placement] = {}  # conn id -> where its peer is
        self.links: dict[int, dict[str, dict[str, Any]]] = {}
        self.on_link_stats: Callable[[int, dict[str, dict[str, Any]]], None] | None = None
        self._rids = itertools.count(1)
        # The worker processes the server started (server/media_setup.py), if any.
        self.spawned: list[Any] = []
        self._background = BackgroundTasks()

    async def start(self, within: float = 30.0) -> None:
        """Connect to every worker (waiting for them to come up)."""
        await asyncio.gather(*(self._connect(w, within) for w in self.workers))

    async def _connect(self, worker: WorkerLink, within: float) -> None:
        host, _, port = worker.address.rpartition(":")
        deadline = asyncio.get_running_loop().time() + within
        while True:
            try:
                worker.reader, worker.writer = await asyncio.open_connection(host, int(port))
                break
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)
        hello = {
            "op": "hello",
            "from": "server",
            "secret": self.secret,
            "ice_servers": self.ice_servers,
        }
        worker.writer.write(wire.encode_json(hello))
        self._background.start(self._read(worker))

    async def _read(self, worker: WorkerLink) -> None:
        assert worker.reader is not None
        try:
            while (message := await wire.read(worker.reader)) is not None:
                if isinstance(message, dict):
                    self._on_message(worker, message)
        except (OSError, wire.WireError, ValueError) as exc:
            log.error("media worker %s: link broken: %s", worker.address, exc)
        finally:
            self._lost(worker)
        # Its participants renegotiate onto the other workers; this one is tried again.
        self._background.start(self._reconnect(worker))

    async def _reconnect(self, worker: WorkerLink) -> None:
        delay = 1.0
        while True:
            await asyncio.sleep(delay)
            try:
                await self._connect(worker, within=0)
                log.info("media worker %s: link restored", worker.address)
                return
            except OSError:
                delay = min(30.0, delay * 2)

    def _lost(self, worker: WorkerLink) -> None:
        log.error("media worker %s is gone; its participants reconnect elsewhere", worker.address)
        if worker.writer is not None:
            worker.writer.close()
        for future in worker.pending.values():
            if not future.done():
                future.set_exception(MediaError("unavailable", "the media worker went away"))
        worker.pending.clear()
        for conn_id in list(worker.conns):
            self.placements.pop(conn_id, None)
        worker.conns.clear()

    def _on_message(self, worker: WorkerLink, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "reply":
            future = worker.pending.pop(message.get("rid", -1), None)
            if future is not None and not future.done():
                future.set_result(message)
        elif op == "layout":
            placement = self.placements.get(message["conn_id"])
            if placement is not None and placement.notify is not None:
                placement.notify(message["slots"])
        elif op == "links":
            merged = self.links.setdefault(message["meeting_id"], {})
            merged.update(message["links"])
            if self.on_link_stats is not None:
                self.on_link_stats(message["meeting_id"], message["links"])
        elif op == "recorded" and self.on_recording is not None:
            done = Finished(
                message["meeting_id"],
                message["number"],
                Path(message["path"]),
                message["bytes"],
                datetime.fromisoformat(message["started_at"]),
                datetime.fromisoformat(message["ended_at"]),
                message["seconds"],
                message.get("agenda_item_id"),
            )
            self._background.start(self.on_recording(done))

    async def _ask(self, worker: WorkerLink, message: dict[str, Any]) -> dict[str, Any]:
        if not worker.up or worker.writer is None:
            raise MediaError("unavailable", "the media worker is not reachable; retry")
        rid = next(self._rids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        worker.pending[rid] = future
        worker.writer.write(wire.encode_json({**message, "rid": rid}))
        try:
            reply = await asyncio.wait_for(future, REPLY_SECONDS)
        except TimeoutError:
            raise MediaError("unavailable", "the media worker did not answer; retry") from None
        finally:
            worker.pending.pop(rid, None)
        if "error" in reply:
            code, text = reply["error"]
            raise MediaError(code, text)
        return reply

    # --- the plane's methods --------------------------------------------------------

    async def offer(
        self,
        meeting_id: int,
        conn_id: str,
        member: str,
        role: Role,
        sdp: str,
        notify: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        state = await self.views.follow(meeting_id)
        if state.closed:
            raise MediaError("room_closed", "the meeting has ended")
        previous = self._forget(conn_id)  # a new offer on the same socket replaces the peer
        if previous is not None:
            self._tell(
                previous.worker, {"op": "leave", "meeting_id": meeting_id, "conn_id": conn_id}
            )
        worker = self._place(meeting_id)
        placement = Placement(meeting_id, worker, member, False, notify)
        self.placements[conn_id] = placement
        worker.conns.add(conn_id)
        self._send_state(meeting_id)
        try:
            reply = await self._ask(
                worker,
                {
                    "op": "offer",
                    "meeting_id": meeting_id,
                    "conn_id": conn_id,
                    "member": member,
                    "role": role.value,
                    "sdp": sdp,
                },
            )
        except BaseException:
            # The worker may still finish the offer: make sure it lets the peer go.
            if self._forget(conn_id) is not None:
                self._tell(worker, {"op": "leave", "meeting_id": meeting_id, "conn_id": conn_id})
            raise
        placement.publishes = bool(reply.get("publishes"))
        self._send_state(meeting_id)  # where this member publishes, to the other workers
        return {"answer": {"type": "answer", "sdp": reply["answer"]}, "slots": reply["slots"]}

    async def candidate(
        self, meeting_id: int, conn_id: str, candidate: str, mid: str | None, index: int | None
    ) -> None:
        placement = self._placement(meeting_id, conn_id)
        await self._ask(
            placement.worker,
            {
                "op": "candidate",
                "meeting_id": meeting_id,
                "conn_id": conn_id,
                "candidate": candidate,
                "mid": mid,
                "index": index,
            },
        )

    async def thumbnails(self, meeting_id: int, conn_id: str, page: int) -> dict[str, Any]:
        placement = self.placements.get(conn_id)
        if placement is None or placement.meeting_id != meeting_id:
            raise MediaError("no_thumbnails", "this connection receives no thumbnails")
        reply = await self._ask(
            placement.worker,
            {"op": "thumbnails", "meeting_id": meeting_id, "conn_id": conn_id, "page": page},
        )
        slots: dict[str, Any] = reply["slots"]
        return slots

    async def leave(self, meeting_id: int, conn_id: str) -> None:
        placement = self._forget(conn_id)
        if placement is None:
            return
        with contextlib.suppress(MediaError, TimeoutError):
            await self._ask(
                placement.worker, {"op": "leave", "meeting_id": meeting_id, "conn_id": conn_id}
            )
        if self._workers_of(meeting_id):
            self._send_state(meeting_id)
        else:
            self.views.forget(meeting_id)
            self.links.pop(meeting_id, None)

    def on_events(self, meeting_id: int, events: list[Event]) -> None:
        self.views.on_events(meeting_id, events)

    async def close(self) -> None:
        for worker in self.workers:
            if worker.writer is not None:
                worker.writer.close()
        self._background.cancel()

    def _tell(self, worker: WorkerLink, message: dict[str, Any]) -> None:
        """A message that needs no answer (sent if the worker is reachable)."""
        if worker.up and worker.writer is not None:
            worker.writer.write(wire.encode_json(message))

    # --- placement and state ----------------------------------------------------------

    def _place(self, meeting_id: int) -> WorkerLink:
        up = [w for w in self.workers if w.up]
        if not up:
            raise MediaError("unavailable", "no media worker is reachable; retry")
        serving = [w for w in self._workers_of(meeting_id) if w.up]
        roomy = [w for w in serving if len(w.conns) < self.per_worker]
        if roomy:
            return roomy[0]
        return min(up, key=lambda w: len(w.conns))

    def _placement(self, meeting_id: int, conn_id: str) -> Placement:
        placement = self.placements.get(conn_id)
        if placement is None or placement.meeting_id != meeting_id:
            raise MediaError("no_peer", "send an offer first")
        return placement

    def _forget(self, conn_id: str) -> Placement | None:
        placement = self.placements.pop(conn_id, None)
        if placement is not None:
            placement.worker.conns.discard(conn_id)
        return placement

    def _workers_of(self, meeting_id: int) -> list[WorkerLink]:
        found: dict[str, WorkerLink] = {}
        for placement in self.placements.values():
            if placement.meeting_id == meeting_id:
                found.setdefault(placement.worker.address, placement.worker)
        return list(found.values())

    def _state_changed(self, meeting_id: int, state: RoomState) -> None:
        self._send_state(meeting_id)

    def _send_state(self, meeting_id: int) -> None:
        state = self.views.states.get(meeting_id)
        if state is None:
            return
        workers = self._workers_of(meeting_id)
        publishers = {
            p.member: p.worker.address
            for p in self.placements.values()
            if p.meeting_id == meeting_id and p.publishes
        }
        message = wire.encode_json(
            {
                "op": "state",
                "meeting_id": meeting_id,
                "state": state_to_wire(state),
                "workers": [w.address for w in workers],
                "publishers": publishers,
            }
        )
        for worker in workers:
            if worker.up and worker.writer is not None:
                worker.writer.write(message)
        if state.closed:
            for conn_id, placement in list(self.placements.items()):
                if placement.meeting_id == meeting_id:
                    self._forget(conn_id)
            self.views.forget(meeting_id)
