"""Slots and outlets: which encoded frames reach which subscriber, pure (no aiortc, no I/O).

A *slot* is one stream a subscriber receives (``main`` video, ``floor`` audio, a
thumbnail...). The room decides which member's media feeds it (its *source*); switching
the source does not touch the subscribers' connections: the slot rewrites timestamps so
every subscriber sees one continuous stream, and holds video back from each subscriber
until the new source's next keyframe.

An *outlet* is one subscriber's end of a slot: a bounded queue its sender reads from. A
subscriber that cannot keep up loses frames up to the next keyframe, never the others'
frames and never the room's time.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Video: about two seconds at 30 fps. Audio: one second of 20 ms Opus frames.
VIDEO_QUEUE_FRAMES = 60
AUDIO_QUEUE_FRAMES = 50


@dataclass(frozen=True, slots=True)
class Frame:
    """One encoded frame as a source sent it."""

    data: bytes
    timestamp: int  # the source's media clock
    clock_rate: int
    keyframe: bool


@dataclass(frozen=True, slots=True)
class Forwarded:
    """A frame on its way to subscribers: the slot's continuous timestamp, and ``payload``,
    what the subscriber's sender is given (made once per frame and slot, shared)."""

    timestamp: int
    clock_rate: int
    keyframe: bool
    payload: Any


def vp8_keyframe(data: bytes) -> bool:
    # RFC 6386 9.1: the frame tag's lowest bit is 0 for a key frame.
    return len(data) > 0 and data[0] & 0x01 == 0


def vp8_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 key frame's header (RFC 6386 9.1), else None."""
    if len(data) < 10 or not vp8_keyframe(data) or data[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return width, height


def h264_keyframe(data: bytes) -> bool:
    # Annex B: an IDR slice (5) or a sequence parameter set (7) starts a decodable picture.
    start = 0
    while (start := data.find(b"\x00\x00\x01", start)) >= 0 and start + 3 < len(data):
        if data[start + 3] & 0x1F in (5, 7):
            return True
        start += 3
    return False


def is_keyframe(codec: str, data: bytes) -> bool:
    codec = codec.upper()
    if codec == "VP8":
        return vp8_keyframe(data)
    if codec == "H264":
        return h264_keyframe(data)
    return True  # audio: every frame decodes on its own


class Outlet:
    """One subscriber's queue for one slot."""

    def __init__(
        self, subscriber: str, video: bool, capacity: int | None = None, member: str | None = None
    ) -> None:
        self.subscriber = subscriber  # one connection
        self.member = member or subscriber  # whose connection: never sent its own media
        self.video = video
        self.capacity = capacity or (VIDEO_QUEUE_FRAMES if video else AUDIO_QUEUE_FRAMES)
        self._queue: deque[Forwarded] = deque()
        self._ready = asyncio.Event()
        # Video starts with a keyframe: anything else would be garbage on screen.
        self.awaiting_keyframe = video
        self.closed = False
        self.sent = 0
        self.dropped = 0

    def offer(self, item: Forwarded) -> bool:
        """Queue ``item``; True if this outlet now needs a keyframe from the source."""
        if self.closed:
            return False
        if self.awaiting_keyframe:
            if not item.keyframe:
                self.dropped += 1
                return False
            self.awaiting_keyframe = False
        if len(self._queue) >= self.capacity:
            # Too slow: what is queued is stale. Start again at the next keyframe.
            self.dropped += len(self._queue) + 1
            self._queue.clear()
            if self.video:
                self.awaiting_keyframe = True
                return True
            return False
        self._queue.append(item)
        self._ready.set()
        return False

    def restart(self) -> None:
        """The slot's source changed: wait for the new source's keyframe."""
        if self.video:
            self.awaiting_keyframe = True

    async def next(self) -> Forwarded | None:
        """The next frame, waiting for one; None once closed."""
        while not self._queue:
            if self.closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        self.sent += 1
        return self._queue.popleft()

    def close(self) -> None:
        self.closed = True
        self._queue.clear()
        self._ready.set()

    def __len__(self) -> int:
        return len(self._queue)


class Slot:
    """A stream fed by one source at a time and read by many outlets."""

    def __init__(
        self,
        name: str,
        video: bool,
        request_keyframe: Callable[[str], None],
        wrap: Callable[[bytes, int, int], Any] = lambda data, ts, rate: data,
    ) -> None:
        self.name = name
        self.video = video
        self.source: str | None = None
        self.outlets: dict[str, Outlet] = {}
        self._request_keyframe = request_keyframe
        self._wrap = wrap
        # Rewriting timestamps: out = in + offset; re-anchored at each switch.
        self._offset: int | None = None
        self._last_out: int | None = None
        self._last_out_at: float | None = None

    def set_source(self, source: str | None) -> None:
        if source == self.source:
            return
        self.source = source
        self._offset = None
        for outlet in self.outlets.values():
            outlet.restart()
        if source is not None and self.video and self._has_viewers(source):
            self._request_keyframe(source)

    def add(self, outlet: Outlet) -> Outlet:
        previous = self.outlets.pop(outlet.subscriber, None)
        if previous is not None:
            previous.close()
        self.outlets[outlet.subscriber] = outlet
        if self.source is not None and self.video and self.source != outlet.member:
            self._request_keyframe(self.source)  # do not leave a newcomer waiting ~seconds
        return outlet

    def remove(self, subscriber: str) -> None:
        outlet = self.outlets.pop(subscriber, None)
        if outlet is not None:
            outlet.close()

    def keyframe_wanted(self, subscriber: str) -> None:
        """A subscriber lost picture (PLI/FIR): ask the source again."""
        if self.source is not None and self.video and subscriber in self.outlets:
            self._request_keyframe(self.source)

    def push(self, source: str, frame: Frame, now: float) -> int:
        """Forward a frame from ``source`` if it feeds this slot; the number of outlets
        it was queued for."""
        if source != self.source or not self.outlets:
            return 0
        timestamp = self._rebase(frame, now)
        item = Forwarded(
            timestamp,
            frame.clock_rate,
            frame.keyframe,
            self._wrap(frame.data, timestamp, frame.clock_rate),
        )
        queued = 0
        wants_keyframe = False
        for outlet in self.outlets.values():
            if outlet.member == source:
                continue  # nobody is sent their own picture or voice
            wants_keyframe |= outlet.offer(item)
            if not outlet.awaiting_keyframe:
                queued += 1
        if wants_keyframe:
            self._request_keyframe(source)
        return queued

    def _rebase(self, frame: Frame, now: float) -> int:
        if self._offset is None:
            if self._last_out is None or self._last_out_at is None:
                start = frame.timestamp
            else:
                # Continue from the last frame sent, as far on as time has moved.
                gap = max(1, round((now - self._last_out_at) * frame.clock_rate))
                start = self._last_out + gap
            self._offset = start - frame.timestamp
        out = frame.timestamp + self._offset
        self._last_out, self._last_out_at = out, now
        return out

    def _has_viewers(self, source: str) -> bool:
        return any(outlet.member != source for outlet in self.outlets.values())

    def close(self) -> None:
        for outlet in self.outlets.values():
            outlet.close()
        self.outlets.clear()
