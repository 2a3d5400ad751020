"""One participant's WebSocket as the room sees it: a bounded queue and its writer.

The room never waits for a client. Frames go into the connection's queue without waiting;
a client whose queue is full cannot keep up and is closed (1013) instead of slowing the
room. The writer sends events strictly in ``seq`` order, once each: anything at or below
the last sent seq is dropped, and a gap (an event missed on the bus) is filled from the
store before the next one goes out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from rooms import messages
from rooms.audience import receives
from rooms.state import Event, Role

log = logging.getLogger(__name__)

QUEUE_FRAMES = 512
CLOSE_TOO_SLOW = 1013


@dataclass(frozen=True)
class Outgoing:
    """An event (with seq) or control frames (seq None: acks, errors, welcome, backlog)."""

    frame: str | tuple[str, ...]
    seq: int | None = None
    kind: str = ""
    data: dict[str, Any] | None = None


def event_frame(event: Event) -> str:
    return messages.event(event.seq, event.kind, event.at.isoformat(), event.actor, event.data)


class Connection:
    def __init__(
        self,
        conn_id: str,
        key: str,
        role: Role,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Coroutine[Any, Any, None]],
        fetch: Callable[[int, int], Awaitable[list[Event]]],
        queue_frames: int = QUEUE_FRAMES,
    ) -> None:
        self.conn_id = conn_id
        self.key = key
        self.role = role
        self._send = send
        self._close = close
        self._fetch = fetch
        self._queue: asyncio.Queue[Outgoing | None] = asyncio.Queue(queue_frames)
        # None until the client has its snapshot or backlog; events wait in _held until then.
        self.last_seq: int | None = None
        self._held: list[Outgoing] = []
        self.dropped = False

    def deliver(self, item: Outgoing) -> None:
        """Queue a frame without waiting; a full queue closes the connection."""
        if self.dropped:
            return
        if item.seq is not None and self.last_seq is None:
            self._held.append(item)
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped = True
            log.warning("closing %s (%s): too slow to keep up", self.conn_id, self.key)
            asyncio.get_running_loop().create_task(
                self._close(CLOSE_TOO_SLOW, "too slow to keep up; reconnect to resume")
            )

    def control(self, frame: str) -> None:
        self.deliver(Outgoing(frame))

    def start_after(self, seq: int, first: list[str]) -> None:
        """The client has everything up to ``seq`` once ``first`` (welcome or backlog) is sent."""
        self._queue.put_nowait(Outgoing(tuple(first)))
        self.last_seq = seq
        held, self._held = self._held, []
        for item in held:
            self.deliver(item)

    def finish(self, reason: str, code: int = 1000) -> None:
        """Close the socket once everything queued before this is sent."""
        self.deliver(Outgoing("", None, "__close__", {"reason": reason, "code": code}))

    def stop(self) -> None:
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            self.dropped = True

    async def run_writer(self) -> None:
        """Send queued frames until stopped; returns when the socket fails or stop() is called."""
        while True:
            item = await self._queue.get()
            if item is None or self.dropped:
                return
            if item.kind == "__close__":
                data = item.data or {}
                await self._close(data.get("code", 1000), data.get("reason", ""))
                return
            if isinstance(item.frame, tuple):
                for frame in item.frame:
                    await self._send(frame)
                continue
            if item.seq is None:
                await self._send(item.frame)
                continue
            assert self.last_seq is not None
            if item.seq <= self.last_seq:
                continue
            if item.seq > self.last_seq + 1:
                for missed in await self._fetch(self.last_seq, item.seq - 1):
                    await self._send_event(
                        missed.seq, missed.kind, missed.data, event_frame(missed)
                    )
            await self._send_event(item.seq, item.kind, item.data or {}, item.frame)

    async def _send_event(self, seq: int, kind: str, data: dict[str, Any], frame: str) -> None:
        if receives(kind, data, self.key, self.role):
            await self._send(frame)
        self.last_seq = seq
