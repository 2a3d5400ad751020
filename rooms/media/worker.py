"""A media worker: a process that holds participants' peer connections for the server.

One Python process forwards media on one core. With ``HOINGHI_MEDIA_WORKERS`` set, the
server (rooms/media/remote.py) places each participant's peer connection on a worker and
relays its signaling there; the worker runs the same MediaRoom as the in-process plane.

Frames cross workers: each frame a worker's publishers send is passed, once, to every
other worker with participants in that meeting (a few workers, never 200 points), which
feed it to their own slots. A keyframe request for a publisher on another worker goes to
that worker. The server sends each worker the room's state and who publishes where.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from pathlib import Path
from typing import Any

from aiortc import RTCIceServer

from rooms.background import BackgroundTasks
from rooms.media import aiortc_hooks, wire
from rooms.media.recorder import Finished
from rooms.media.room import MediaError, MediaRoom
from rooms.media.slots import Frame
from rooms.media.views import state_from_wire
from rooms.state import Role

log = logging.getLogger(__name__)

STATS_SECONDS = 5.0
# Frames queued for another worker before that link counts as stalled and frames drop.
PEER_BUFFER_BYTES = 8 * 1024 * 1024


class MediaWorker:
    def __init__(self, secret: str, recordings: Path | None = None) -> None:
        aiortc_hooks.check()
        self.secret = secret
        self.recordings = recordings
        self.address = ""
        self.ice_servers: list[RTCIceServer] = []
        self.rooms: dict[int, MediaRoom] = {}
        # Per meeting: the other workers with participants in it, and who publishes where.
        self.workers: dict[int, list[str]] = {}
        self.publishers: dict[int, dict[str, str]] = {}
        self._server: asyncio.StreamWriter | None = None
        self._peers: dict[str, asyncio.StreamWriter] = {}
        self._connecting: dict[str, asyncio.Task[None]] = {}
        self._background = BackgroundTasks()

    async def serve(self, host: str, port: int) -> asyncio.Server:
        server = await asyncio.start_server(self._accept, host, port)
        bound = server.sockets[0].getsockname()
        self.address = f"{bound[0]}:{bound[1]}"
        self._background.start(self._sample_links())
        return server

    # --- connections ----------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            hello = await asyncio.wait_for(wire.read(reader), 10)
        except (TimeoutError, wire.WireError, ValueError):
            hello = None
        if not isinstance(hello, dict) or not hmac.compare_digest(
            str(hello.get("secret", "")), self.secret
        ):
            writer.close()
            return
        if hello.get("from") == "server":
            await self._serve_server(hello, reader, writer)
        else:
            await self._serve_worker(reader)
        writer.close()

    async def _serve_server(
        self, hello: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if self._server is not None:
            self._server.close()  # a restarted server replaces the old link
        self._server = writer
        self.ice_servers = [RTCIceServer(**entry) for entry in hello.get("ice_servers", [])]
        log.info("media worker %s: server connected", self.address)
        try:
            while (message := await wire.read(reader)) is not None:
                if isinstance(message, dict):
                    self._background.start(self._handle(message))
        except (OSError, wire.WireError, ValueError) as exc:
            log.warning("media worker %s: server link broken: %s", self.address, exc)
        log.warning("media worker %s: the server went away; dropping every peer", self.address)
        # Peers exist only for the server that placed them; a new server link starts afresh.
        for meeting_id in list(self.rooms):
            await self._close_room(meeting_id)
        if self._server is writer:
            self._server = None

    async def _serve_worker(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError, wire.WireError, ValueError):
            await self._from_worker(reader)

    async def _from_worker(self, reader: asyncio.StreamReader) -> None:
        while (message := await wire.read(reader)) is not None:
            if isinstance(message, wire.FrameMessage):
                room = self.rooms.get(message.meeting_id)
                if room is not None:
                    room.deliver(message.member, message.kind, message.frame)
            elif message.get("op") == "keyframe":
                room = self.rooms.get(message["meeting_id"])
                if room is not None:
                    room.keyframes.request(message["member"])

    # --- the server's requests ----------------------------------------------------------

    async def _handle(self, message: dict[str, Any]) -> None:
        rid = message.get("rid")
        try:
            result = await self._run(message)
        except MediaError as refused:
            self._to_server({"op": "reply", "rid": rid, "error": [refused.code, refused.message]})
        except Exception as exc:
            log.exception("media worker %s: %s failed", self.address, message.get("op"))
            self._to_server({"op": "reply", "rid": rid, "error": ["worker_error", str(exc)]})
        else:
            if rid is not None:
                self._to_server({"op": "reply", "rid": rid, **result})

    async def _run(self, message: dict[str, Any]) -> dict[str, Any]:
        op, meeting_id = message["op"], message.get("meeting_id")
        if op == "state":
            self._state(message)
            return {}
        room = self.rooms.get(meeting_id) if meeting_id is not None else None
        conn_id = message.get("conn_id", "")
        if op == "offer":
            if room is None:
                raise MediaError("room_closed", "no state for this meeting on the worker")
            answer = await room.negotiate(
                conn_id,
                message["member"],
                Role(message["role"]),
                message["sdp"],
                notify=lambda slots: self._to_server(
                    {"op": "layout", "conn_id": conn_id, "slots": slots}
                ),
            )
            return {
                "answer": answer,
                "slots": room.layout(conn_id),
                "publishes": room.publishers.get(message["member"]) is room.peers.get(conn_id),
            }
        if room is None:
            raise MediaError("no_peer", "send an offer first")
        if op == "candidate":
            await room.add_candidate(
                conn_id, message["candidate"], message["mid"], message["index"]
            )
            return {}
        if op == "thumbnails":
            return {"slots": room.set_page(conn_id, message["page"])}
        if op == "leave":
            await room.drop(conn_id)
            if not room.peers:
                await self._close_room(room.meeting_id)
            return {}
        raise MediaError("unknown_op", f"unknown operation {op!r}")

    def _state(self, message: dict[str, Any]) -> None:
        state = state_from_wire(message["state"])
        meeting_id = state.meeting_id
        self.workers[meeting_id] = [w for w in message["workers"] if w != self.address]
        self.publishers[meeting_id] = message["publishers"]
        room = self.rooms.get(meeting_id)
        if room is None:
            if state.closed:
                return
            room = MediaRoom(meeting_id, self.ice_servers, self.recordings, self._recorded)
            room.relay = lambda member, kind, frame: self._relay(meeting_id, member, kind, frame)
            room.remote_keyframe = lambda member: self._keyframe_elsewhere(meeting_id, member)
            self.rooms[meeting_id] = room
        room.update(state)
        if state.closed:
            self._background.start(self._close_room(meeting_id))

    # --- between workers ------------------------------------------------------------

    def _relay(self, meeting_id: int, member: str, kind: str, frame: Frame) -> None:
        data: bytes | None = None
        for address in self.workers.get(meeting_id, ()):
            writer = self._peer(address)
            if writer is None:
                continue
            if writer.transport.get_write_buffer_size() > PEER_BUFFER_BYTES:
                continue  # that worker is stalled: its subscribers wait for a keyframe
            data = data or wire.encode_frame(meeting_id, member, kind, frame)
            writer.write(data)

    def _keyframe_elsewhere(self, meeting_id: int, member: str) -> None:
        address = self.publishers.get(meeting_id, {}).get(member)
        writer = self._peer(address) if address and address != self.address else None
        if writer is not None:
            writer.write(
                wire.encode_json({"op": "keyframe", "meeting_id": meeting_id, "member": member})
            )

    def _peer(self, address: str) -> asyncio.StreamWriter | None:
        writer = self._peers.get(address)
        if writer is not None and not writer.is_closing():
            return writer
        if address not in self._connecting:
            task = asyncio.get_running_loop().create_task(self._connect(address))
            self._connecting[address] = task
        return None

    async def _connect(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        try:
            _, writer = await asyncio.open_connection(host, int(port))
            writer.write(wire.encode_json({"op": "hello", "from": "worker", "secret": self.secret}))
            self._peers[address] = writer
        except OSError as exc:
            log.warning("media worker %s: cannot reach %s: %s", self.address, address, exc)
            await asyncio.sleep(1.0)
        finally:
            self._connecting.pop(address, None)

    # --- towards the server -------------------------------------------------------------

    def _to_server(self, message: dict[str, Any]) -> None:
        if self._server is not None and not self._server.is_closing():
            self._server.write(wire.encode_json(message))

    async def _recorded(self, done: Finished) -> None:
        self._to_server(
            {
                "op": "recorded",
                "meeting_id": done.meeting_id,
                "number": done.number,
                "path": str(done.path),
                "bytes": done.bytes,
                "started_at": done.started_at.isoformat(),
                "ended_at": done.ended_at.isoformat(),
                "seconds": done.seconds,
                "agenda_item_id": done.agenda_item_id,
            }
        )

    async def _sample_links(self) -> None:
        while True:
            await asyncio.sleep(STATS_SECONDS)
            for meeting_id, room in list(self.rooms.items()):
                with contextlib.suppress(Exception):
                    links = await room.link_stats()
                    self._to_server({"op": "links", "meeting_id": meeting_id, "links": links})

    async def _close_room(self, meeting_id: int) -> None:
        room = self.rooms.pop(meeting_id, None)
        self.workers.pop(meeting_id, None)
        self.publishers.pop(meeting_id, None)
        if room is not None:
            await room.close()


async def run_worker(host: str, port: int, secret: str, recordings: Path | None) -> None:
    """``hoinghi media-worker``: serve until cancelled; prints the address it listens on."""
    worker = MediaWorker(secret, recordings)
    server = await worker.serve(host, port)
    print(f"media-worker listening on {worker.address}", flush=True)
    async with server:
        await server.serve_forever()
