"""Recording a meeting: the ``main`` and ``floor`` slots muxed into one WebM file
(Matroska holding VP8 and Opus, which browsers play).

The recorder is one more subscriber of the slots: it takes the same forwarded packets
the points get and muxes them as they are (PyAV, no decoding, no re-encoding), four
tracks: main video, main audio, floor video, floor audio. The file is written as
``.webm.part`` and renamed when the recording ends, so a finished recording is never a
half-written file.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import os
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av

from rooms.media.slots import Forwarded, Outlet, Slot

log = logging.getLogger(__name__)

TRACKS = ("main.video", "main.audio", "floor.video", "floor.audio")
# Several seconds of slack: a disk that stalls must not cost frames at once.
RECORDER_QUEUE_FRAMES = 600
# Matroska wants Opus's identification header (RFC 7845 5.1): version 1, two channels,
# 312 samples of pre-skip, 48 kHz, no gain, mapping family 0.
OPUS_HEAD = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 312, 48_000, 0, 0)
# The header needs a size; each VP8 keyframe carries its own, which players follow.
DEFAULT_SIZE = (640, 360)


@dataclass(frozen=True)
class Finished:
    meeting_id: int
    number: int
    path: Path
    bytes: int
    started_at: datetime
    ended_at: datetime
    seconds: float
    agenda_item_id: int | None = None  # what the meeting was on when it started


class Recorder:
    def __init__(
        self,
        meeting_id: int,
        number: int,
        path: Path,
        slots: dict[str, Slot],
        on_finished: Callable[[Finished], Awaitable[None]] | None = None,
        agenda_item_id: int | None = None,
    ) -> None:
        self.meeting_id = meeting_id
        self.agenda_item_id = agenda_item_id
        self.number = number
        self.path = path
        self._part = path.with_name(path.name + ".part")
        self._slots = slots
        self._on_finished = on_finished
        self._subscriber = f"recorder:{meeting_id}:{number}"
        self._outlets: dict[str, Outlet] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._container: Any = None
        self._streams: dict[str, Any] = {}
        self._first: dict[str, tuple[int, float]] = {}
        self._last_pts: dict[str, int] = {}
        self._started = time.monotonic()
        self.started_at = datetime.now(UTC)
        self.frames = 0

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(self._part), "w", format="webm")
        for name in TRACKS:
            if name.endswith("video"):
                stream = self._container.add_stream("vp8", rate=30)
                stream.width, stream.height = DEFAULT_SIZE
                stream.time_base = fractions.Fraction(1, 90_000)
            else:
                stream = self._container.add_stream("opus", rate=48_000)
                stream.codec_context.extradata = OPUS_HEAD
                stream.time_base = fractions.Fraction(1, 48_000)
            self._streams[name] = stream
        for name in TRACKS:
            outlet = Outlet(
                self._subscriber,
                name.endswith("video"),
                capacity=RECORDER_QUEUE_FRAMES,
                member="recorder",
            )
            self._outlets[name] = outlet
            self._slots[name].add(outlet)
            self._tasks.append(asyncio.create_task(self._drain(name, outlet)))
        log.info("meeting %s: recording %s to %s", self.meeting_id, self.number, self.path)

    async def _drain(self, name: str, outlet: Outlet) -> None:
        while (item := await outlet.next()) is not None:
            try:
                self._write(name, item)
            except (av.FFmpegError, ValueError) as exc:
                log.warning("meeting %s: recording %s: %s", self.meeting_id, name, exc)

    def _write(self, name: str, item: Forwarded) -> None:
        stream = self._streams[name]
        now = time.monotonic()
        first = self._first.setdefault(name, (item.timestamp, now))
        # Each track starts where it joined the recording, on the recording's clock.
        offset = round((first[1] - self._started) * item.clock_rate)
        pts = item.timestamp - first[0] + offset
        pts = max(pts, self._last_pts.get(name, -1) + 1)  # strictly increasing for the muxer
        self._last_pts[name] = pts
        data = bytes(item.payload) if not isinstance(item.payload, bytes) else item.payload
        packet = av.Packet(data)
        packet.pts = packet.dts = pts
        packet.time_base = fractions.Fraction(1, item.clock_rate)
        packet.stream = stream
        if item.keyframe and name.endswith("video"):
            packet.is_keyframe = True
        self._container.mux(packet)
        self.frames += 1

    async def stop(self) -> Finished | None:
        for name, outlet in self._outlets.items():
            self._slots[name].remove(outlet.subscriber)
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        ended_at = datetime.now(UTC)
        seconds = time.monotonic() - self._started
        try:
            self._container.close()
        except av.FFmpegError as exc:
            log.warning("meeting %s: recording %s: %s", self.meeting_id, self.number, exc)
        if self.frames == 0:
            self._part.unlink(missing_ok=True)
            log.info("meeting %s: recording %s had nothing in it", self.meeting_id, self.number)
            return None
        os.replace(self._part, self.path)
        done = Finished(
            self.meeting_id,
            self.number,
            self.path,
            self.path.stat().st_size,
            self.started_at,
            ended_at,
            round(seconds, 3),
            self.agenda_item_id,
        )
        if self._on_finished is not None:
            try:
                await self._on_finished(done)
            except Exception:
                log.exception("meeting %s: recording %s not listed", self.meeting_id, self.number)
        return done
