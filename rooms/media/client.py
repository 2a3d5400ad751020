"""The participant's side of the media plane, in aiortc: the point agent, the media
bench's subscribers and the tests all join a meeting's media with this.

It builds the one peer connection the server expects (rooms/media/room.py ``LAYOUT``),
sends a camera and microphone track if given, and watches what arrives on each slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import math
import time
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AUDIO_PTIME, MediaStreamError, VideoStreamTrack

from rooms.media.room import LAYOUT

MAX_BUNDLE = RTCBundlePolicy.MAX_BUNDLE  # see rooms/media/room.py
SLOT_NAMES = tuple(f"{name}.{kind}" for name, kind in LAYOUT)


@dataclass
class Received:
    """What one slot has brought so far."""

    kind: str
    frames: int = 0
    first_at: float | None = None
    last_at: float | None = None
    last_frame: Any = None
    arrivals: list[float] = field(default_factory=list)

    def fps(self, window: float = 2.0) -> float:
        if not self.arrivals:
            return 0.0
        end = self.arrivals[-1]
        recent = [t for t in self.arrivals if t > end - window]
        return (len(recent) - 1) / window if len(recent) > 1 else 0.0

    def mean_rgb(self) -> tuple[float, float, float] | None:
        if self.last_frame is None:
            return None
        rgb = self.last_frame.to_ndarray(format="rgb24")
        r, g, b = (float(rgb[..., i].mean()) for i in range(3))
        return r, g, b


class ColourBars(VideoStreamTrack):
    """A camera stand-in: a flat colour with a bar that moves (so frames differ)."""

    def __init__(self, rgb: tuple[int, int, int], width: int = 320, height: int = 180) -> None:
        super().__init__()
        self.width, self.height = width, height
        self._base = np.zeros((height, width, 3), dtype=np.uint8)
        self._base[:, :] = rgb
        self._count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        image = self._base.copy()
        x = (self._count * 4) % self.width
        image[:, x : x + 8] = 255 - image[:, x : x + 8]
        self._count += 1
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame


class Tone(MediaStreamTrack):
    """A microphone stand-in: a quiet sine tone, 20 ms frames at 48 kHz."""

    kind = "audio"

    def __init__(self, hertz: float = 440.0) -> None:
        super().__init__()
        self._hertz = hertz
        self._samples = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        rate, count = 48_000, int(48_000 * AUDIO_PTIME)
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._samples / rate - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (np.arange(count) + self._samples) / rate
        pcm = (3000 * np.sin(2 * math.pi * self._hertz * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, rate)
        self._samples += count
        return frame


class MediaClient:
    def __init__(
        self,
        video: MediaStreamTrack | None = None,
        audio: MediaStreamTrack | None = None,
        thumbnails: int = 0,
        ice_servers: list[RTCIceServer] | None = None,
    ) -> None:
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=ice_servers or [], bundlePolicy=MAX_BUNDLE)
        )
        self.video, self.audio = video, audio
        self.thumbnails = thumbnails
        self.slots: dict[str, Received] = {}
        self._readers: list[asyncio.Task[None]] = []
        self.started_at = time.monotonic()

    async def offer(self) -> str:
        """Build the peer connection's offer (ICE candidates included)."""
        sends = {"video": self.video, "audio": self.audio}
        for name, kind in LAYOUT:
            track = sends[kind] if name == "main" else None
            if track is not None:
                self.pc.addTransceiver(track, direction="sendrecv")
            else:
                self.pc.addTransceiver(kind, direction="recvonly")
        for _ in range(self.thumbnails):
            self.pc.addTransceiver("video", direction="recvonly")
        names = [*SLOT_NAMES, *(f"thumb{i}.video" for i in range(self.thumbnails))]
        by_receiver = {}
        for name, transceiver in zip(names, self.pc.getTransceivers(), strict=True):
            self.slots[name] = Received(transceiver.kind)
            by_receiver[id(transceiver.receiver)] = name

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            for transceiver in self.pc.getTransceivers():
                if transceiver.receiver.track is track:
                    name = by_receiver[id(transceiver.receiver)]
                    self._readers.append(asyncio.create_task(self._read(name, track)))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer: str) -> None:
        self.started_at = time.monotonic()
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def _read(self, name: str, track: MediaStreamTrack) -> None:
        got = self.slots[name]
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                now = time.monotonic()
                got.frames += 1
                got.first_at = got.first_at or now
                got.last_at = now
                got.arrivals.append(now)
                if len(got.arrivals) > 300:
                    del got.arrivals[:100]
                if got.kind == "video":
                    got.last_frame = frame

    def first_frame_after_start(self, slot: str) -> float | None:
        got = self.slots.get(slot)
        if got is None or got.first_at is None:
            return None
        return got.first_at - self.started_at

    async def close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        await self.pc.close()
