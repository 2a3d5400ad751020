"""The baseline for `bench media`: aiortc's own way to serve one publisher to many.

One publisher POSTs its offer to ``/publish``; each subscriber POSTs its offer to
``/subscribe`` and is sent the publisher's tracks through ``aiortc.contrib.media.MediaRelay``:
the server decodes the publisher once and every subscriber's sender encodes its own copy
(VP8 and Opus), which is how an aiortc application relays without reaching inside aiortc.
The peer connections have the same m-lines as hoinghi's (rooms/media/room.py ``LAYOUT``),
so the same MediaClient publishes and subscribes; the ``floor`` m-lines stay inactive.

No authentication, no rooms. Served with uvicorn like hoinghi. Nothing in hoinghi uses this.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

relay = MediaRelay()
sources: dict[str, MediaStreamTrack] = {}
peers: set[RTCPeerConnection] = set()
drains: set[asyncio.Task[None]] = set()


def _connection() -> RTCPeerConnection:
    pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    peers.add(pc)

    @pc.on("connectionstatechange")
    async def on_state() -> None:
        if pc.connectionState in ("failed", "closed"):
            peers.discard(pc)
            await pc.close()

    return pc


async def _drain(track: MediaStreamTrack) -> None:
    # Keeps the relay reading the publisher while nobody subscribes (as a live server
    # would: otherwise the decoded frames pile up in the remote track's queue).
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


async def publish(request: Request) -> JSONResponse:
    offer = (await request.json())["sdp"]
    pc = _connection()

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        sources[track.kind] = track
        task = asyncio.get_running_loop().create_task(
            _drain(relay.subscribe(track, buffered=False))
        )
        drains.add(task)

    await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
    for index, transceiver in enumerate(pc.getTransceivers()):
        transceiver.direction = "recvonly" if index < 2 else "inactive"
    await pc.setLocalDescription(await pc.createAnswer())
    return JSONResponse({"sdp": pc.localDescription.sdp})


async def subscribe(request: Request) -> JSONResponse:
    offer = (await request.json())["sdp"]
    if set(sources) != {"video", "audio"}:
        return JSONResponse({"error": "no publisher yet"}, status_code=409)
    pc = _connection()
    await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
    for index, transceiver in enumerate(pc.getTransceivers()):
        if index < 2:
            # buffered=False: a sender that falls behind skips frames rather than lags.
            track = relay.subscribe(sources[transceiver.kind], buffered=False)
            transceiver.sender.replaceTrack(track)
            transceiver.direction = "sendonly"
        else:
            transceiver.direction = "inactive"
    await pc.setLocalDescription(await pc.createAnswer())
    return JSONResponse({"sdp": pc.localDescription.sdp})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"peers": len(peers), "sources": sorted(sources)})


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    for task in drains:
        task.cancel()
    await asyncio.gather(*(pc.close() for pc in list(peers)), return_exceptions=True)


def _routes() -> list[Any]:
    return [
        Route("/publish", publish, methods=["POST"]),
        Route("/subscribe", subscribe, methods=["POST"]),
        Route("/healthz", healthz),
    ]


app = Starlette(routes=_routes(), lifespan=_lifespan)
