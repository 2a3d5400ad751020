"""A room client that is dropped and comes back: it records every event it receives, by seq,
across all its connections (live, and replayed by ``resume_from``), and resends every
command not yet answered (same command id) once it is back in the room."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

# Said by the chair at the very end: every client has everything up to it once it has it.
MARKER = "chaos-end"


class Member:
    def __init__(
        self,
        token: str,
        urls: list[str],
        meeting_id: int,
        rng: random.Random,
        home: int = 0,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        on_attach: Callable[[dict[str, Any]], None] | None = None,
        on_detach: Callable[[], None] | None = None,
    ) -> None:
        self.token = token
        self.urls = urls
        self.meeting_id = meeting_id
        self.rng = rng
        self.home = home
        self.on_event = on_event
        self.on_attach = on_attach
        self.on_detach = on_detach
        self.key = ""
        self.role = ""
        self.events: dict[int, str] = {}  # seq -> kind, from every connection
        self.duplicates: list[int] = []  # seqs received again
        self.out_of_order: list[int] = []  # seqs not above the last one on the same socket
        self.base_seq: int | None = None  # the first welcome's snapshot seq
        self.last_seq = 0  # what the next connection resumes from
        self.fresh_welcomes: list[tuple[int, int]] = []  # (resumed from, snapshot seq)
        self.resumes = 0
        self.connections = 0
        self.failed_connects = 0
        self.lost: Counter[str] = Counter()  # closed by the other side, by close code
        self.drops: list[tuple[float, str, float]] = []  # (time, close|abort, pause)
        self.attached = False
        self.finished = False
        self.commands_resent = 0
        self.unavailable = 0
        self.errors: Counter[str] = Counter()  # error codes answered to commands
        self.ws: ClientConnection | None = None
        self._conn_last = 0
        self._planned_pause: float | None = None
        self._ids = itertools.count(1)
        self._pending: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._attached = asyncio.Event()

    # --- the connection's life ----------------------------------------------------------

    def _url(self, base: str) -> str:
        query = f"token={self.token}"
        if self.base_seq is not None:
            query += f"&resume_from={self.last_seq}"
        return f"{base}/ws/meetings/{self.meeting_id}?{query}"

    async def run(self) -> None:
        """Connect, read, and reconnect after every drop until ``finish``."""
        index = self.home
        while not self.finished:
            ws = await self._connect(index)
            if ws is None:
                return
            self.ws, self._conn_last, self._planned_pause = ws, 0, None
            self.connections += 1
            try:
                async for raw in ws:
                    self._frame(json.loads(raw))
            except ConnectionClosed:
                pass
            if self.attached and self.on_detach is not None:
                self.on_detach()
            self.attached, self.ws = False, None
            self._attached.clear()
            if self.finished:
                return
            pause = self._planned_pause
            if pause is None:  # the server went away, or closed us
                self.lost[str(ws.close_code)] += 1
                pause = self.rng.uniform(0.2, 1.0)
            await asyncio.sleep(pause)
            index = self.rng.randrange(len(self.urls))  # the same server again, or the other

    async def _connect(self, index: int) -> ClientConnection | None:
        while not self.finished:
            try:
                return await connect(
                    self._url(self.urls[index]),
                    max_queue=None,
                    open_timeout=30,
                    ping_interval=None,
                    close_timeout=5,
                )
            except Exception:  # refused (a killed server), a timeout, 503
                self.failed_connects += 1
                index = (index + 1) % len(self.urls)
                await asyncio.sleep(self.rng.uniform(0.3, 1.0))
        return None

    async def drop(self, how: str, pause: float) -> None:
        """Leave on purpose (a clean close, or the socket cut), back after ``pause``."""
        ws = self.ws
        if ws is None or not self.attached:
            return
        self._planned_pause = pause
        self.drops.append((time.time(), how, pause))
        if how == "abort":
            ws.transport.abort()
        else:
            with contextlib.suppress(Exception):
                await ws.close()

    async def finish(self) -> None:
        self.finished = True
        self._attached.set()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def attached_again(self) -> None:
        await self._attached.wait()

    # --- frames -------------------------------------------------------------------------

    def _frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "event":
            seq = frame["seq"]
            if seq in self.events:
                self.duplicates.append(seq)
            else:
                self.events[seq] = frame["event"]
            if seq <= self._conn_last:
                self.out_of_order.append(seq)
            self._conn_last = max(self._conn_last, seq)
            self.last_seq = max(self.last_seq, seq)
            if self.on_event is not None:
                self.on_event(frame)
        elif kind in ("ack", "error"):
            waiting = self._pending.get(frame.get("id") or "")
            if waiting is None:
                return
            if kind == "error" and frame["code"] == "unavailable":
                # The room could not record it (a failover): the same command again.
                self.unavailable += 1
                asyncio.get_running_loop().call_later(0.5, self._resend, frame["id"])
                return
            if kind == "error":
                self.errors[frame["code"]] += 1
            if not waiting[1].done():
                waiting[1].set_result(frame)
        elif kind == "welcome":
            seq = frame["snapshot"]["seq"]
            if self.base_seq is None:
                self.base_seq = seq
            else:  # resumed from too far back: a snapshot instead of the events
                self.fresh_welcomes.append((self.last_seq, seq))
            self.last_seq = max(self.last_seq, seq)
            self._conn_last = seq
            self._attach(frame)
        elif kind == "resumed":
            self.resumes += 1
            self._conn_last = frame["from_seq"]
            self._attach(frame)

    def _attach(self, frame: dict[str, Any]) -> None:
        self.key, self.role = frame["you"]["key"], frame["you"]["role"]
        self.attached = True
        self._attached.set()
        for command_id in list(self._pending):
            self.commands_resent += 1
            self._resend(command_id)
        if self.on_attach is not None:
            self.on_attach(frame)

    # --- commands -----------------------------------------------------------------------

    async def command(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send a command and wait for its answer, resending it (same id) after every
        reconnection until it is answered."""
        command_id = f"c{next(self._ids)}"
        frame = json.dumps({"type": kind, "id": command_id, **fields})
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = (frame, future)
        try:
            if self.attached:
                self._resend(command_id)
            return await future
        finally:
            self._pending.pop(command_id, None)

    def _resend(self, command_id: str) -> None:
        pending, ws = self._pending.get(command_id), self.ws
        if pending is None or ws is None or not self.attached or pending[1].done():
            return
        task = asyncio.get_running_loop().create_task(_send_quietly(ws, pending[0]))
        _sending.add(task)
        task.add_done_callback(_sending.discard)

    def record(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "role": self.role,
            "events": sorted(self.events.items()),
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "base_seq": self.base_seq,
            "fresh_welcomes": self.fresh_welcomes,
            "resumes": self.resumes,
            "connections": self.connections,
            "failed_connects": self.failed_connects,
            "lost": dict(self.lost),
            "drops": self.drops,
            "commands_resent": self.commands_resent,
            "unavailable": self.unavailable,
            "errors": dict(self.errors),
        }


async def _send_quietly(ws: ClientConnection, frame: str) -> None:
    with contextlib.suppress(ConnectionClosed):
        await ws.send(frame)


_sending: set[asyncio.Task[None]] = set()
