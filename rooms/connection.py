"""One participant's WebSocket as the room sees it: a bounded queue and its writer.

The room never waits for a client. Items go into the connection's queue without waiting;
a client whose queue is full cannot keep up and is closed (1013) instead of slowing the
room. The writer sends events strictly in ``seq`` order, once each: anything at or below
the last sent seq is dropped, and a gap (an event missed on the bus) is filled from the
store before the next one goes out. Events not addressed to this member (see
rooms/audience.py) advance its seq without being sent.

Events arrive in batches (a room persists and publishes them that way): one queue item
and one wake-up of the writer per batch, not per event. Batches of events only for the
watchers and the members they are about are not handed to the others at all; a gap made
of such events is stepped over (``skip``, see rooms/audience.py ``QuietRuns``) rather than
fetched. Together these keep a join storm of N points from costing N² operations.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from rooms import messages
from rooms.audience import may_step_over, receives
from rooms.state import Event, Role

log = logging.getLogger(__name__)

QUEUE_ITEMS = 512
CLOSE_TOO_SLOW = 1013


@dataclass(frozen=True)
class EventFrame:
    """An event with its frame, encoded once for every connection."""

    seq: int
    kind: str
    data: dict[str, Any]
    frame: str

    @classmethod
    def of(cls, event: Event) -> EventFrame:
        return cls(event.seq, event.kind, event.data, event_frame(event))

    @cached_property
    def wire(self) -> bytes:
        """The whole WebSocket frame, the same bytes for every client (a server's frames
        are not masked): built once, written to each socket as it is."""
        return websocket_text_frame(self.frame)


def websocket_text_frame(text: str) -> bytes:
    """One final, unmasked text frame (RFC 6455 5.2)."""
    payload = text.encode()
    length = len(payload)
    if length < 126:
        header = bytes((0x81, length))
    elif length < 1 << 16:
        header = bytes((0x81, 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + length.to_bytes(8, "big")
    return header + payload


@dataclass(frozen=True)
class Outgoing:
    """Events (in seq order), or control frames (acks, errors, welcome, backlog), or a close."""

    events: tuple[EventFrame, ...] = ()
    frames: tuple[str, ...] = ()
    close: tuple[int, str] | None = None
    catch_up: int | None = None  # the room is at this seq: fetch anything missed


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
        queue_items: int = QUEUE_ITEMS,
        on_drop: Callable[[], None] | None = None,
        write_now: Callable[[bytes], bool] | None = None,
        skip: Callable[[int, int], int] | None = None,
    ) -> None:
        self.conn_id = conn_id
        self.key = key
        self.role = role
        self._send = send
        self._close = close
        self._fetch = fetch
        self._queue: asyncio.Queue[Outgoing | None] = asyncio.Queue(queue_items)
        # None until the client has its snapshot or backlog; events wait in _held until then.
        self.last_seq: int | None = None
        self._held: list[Outgoing] = []
        # The highest seq handed to this connection (sent or still queued).
        self._seen_seq = 0
        self.dropped = False
        # Told when the connection is dropped for being too slow: its session must end now,
        # not when a close frame finally gets through the stalled socket.
        self._on_drop = on_drop
        # Writes a whole frame to the socket at once if it can (see server/raw_socket.py):
        # events then skip the queue and the writer while nothing is waiting before them.
        self._write_now = write_now
        self._writing = False  # the writer holds an item it has not finished sending
        self.written_directly = 0
        # Steps over seqs (after, upto] known not to be for this member; watchers never do.
        self._skip = skip if skip is not None and may_step_over(role) else None

    def deliver(self, item: Outgoing) -> None:
        """Queue an item without waiting; a full queue closes the connection."""
        if self.dropped:
            return
        if item.events:
            self._seen_seq = max(self._seen_seq, item.events[-1].seq)
        if item.events and self.last_seq is None:
            self._held.append(item)
            return
        if item.events and not item.frames and self._write_now is not None:
            item = self._write_directly(item)
            if not item.events and item.close is None and item.catch_up is None:
                return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped = True
            log.warning("closing %s (%s): too slow to keep up", self.conn_id, self.key)
            if self._on_drop is not None:
                self._on_drop()

    def _write_directly(self, item: Outgoing) -> Outgoing:
        """Write the item's events now if nothing is queued or being sent before them; what
        could not be written (a gap, a full socket buffer) is left for the writer."""
        assert self._write_now is not None and self.last_seq is not None
        if self._writing or not self._queue.empty():
            return item
        for index, event in enumerate(item.events):
            if event.seq <= self.last_seq:
                continue
            if event.seq != self.last_seq + 1:
                self._step_over(event.seq - 1)
                if event.seq != self.last_seq + 1:
                    return Outgoing(events=item.events[index:], close=item.close)
            if receives(event.kind, event.data, self.key, self.role):
                if not self._write_now(event.wire):
                    return Outgoing(events=item.events[index:], close=item.close)
                self.written_directly += 1
            self.last_seq = event.seq
        return Outgoing(close=item.close, catch_up=item.catch_up)

    def events(self, events: tuple[EventFrame, ...]) -> None:
        self.deliver(Outgoing(events=events))

    def catch_up(self, seq: int) -> None:
        """The room has published up to ``seq``: if this connection was never handed that
        far (events lost on the bus), what it missed is fetched and sent."""
        if self.last_seq is None:
            return
        handed = max(self.last_seq, self._seen_seq)
        if seq > handed and (self._skip is None or self._skip(handed, seq) < seq):
            self.deliver(Outgoing(catch_up=seq))

    def control(self, frame: str) -> None:
        self.deliver(Outgoing(frames=(frame,)))

    def start_after(self, seq: int, first: list[str]) -> None:
        """The client has everything up to ``seq`` once ``first`` (welcome or backlog) is sent."""
        self.deliver(Outgoing(frames=tuple(first)))
        self.last_seq = seq
        held, self._held = self._held, []
        for item in held:
            self.deliver(item)

    def finish(self, reason: str, code: int = 1000) -> None:
        """Close the socket once everything queued before this is sent."""
        self.deliver(Outgoing(close=(code, reason)))

    def stop(self) -> None:
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            self.dropped = True

    async def run_writer(self) -> None:
        """Send queued items until stopped; returns when the socket fails or stop() is called."""
        while True:
            self._writing = False
            item = await self._queue.get()
            if item is None or self.dropped:
                return
            self._writing = True
            for frame in item.frames:
                await self._send(frame)
            for event in item.events:
                await self._send_in_order(event)
            if item.catch_up is not None:
                self._step_over(item.catch_up)
            behind = self.last_seq is not None and (item.catch_up or 0) > self.last_seq
            if behind and item.catch_up is not None and self.last_seq is not None:
                for missed in await self._fetch(self.last_seq, item.catch_up):
                    await self._send_one(EventFrame.of(missed))
            if item.close is not None:
                await self._close(*item.close)
                return

    async def _send_in_order(self, event: EventFrame) -> None:
        assert self.last_seq is not None
        if event.seq <= self.last_seq:
            return
        if event.seq > self.last_seq + 1:
            self._step_over(event.seq - 1)
        if event.seq > self.last_seq + 1:
            for missed in await self._fetch(self.last_seq, event.seq - 1):
                await self._send_one(EventFrame.of(missed))
        await self._send_one(event)

    def _step_over(self, upto: int) -> None:
        if self._skip is not None and self.last_seq is not None and upto > self.last_seq:
            self.last_seq = self._skip(self.last_seq, upto)

    async def _send_one(self, event: EventFrame) -> None:
        if receives(event.kind, event.data, self.key, self.role):
            await self._send(event.frame)
        self.last_seq = event.seq
