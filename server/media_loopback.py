"""A point's media self-test: its camera and microphone sent to the server and straight
back over WebRTC. The point sees its own picture return and measures the round trip; it
then records the result (``POST /api/points/me/self-test``).

The echo runs in the server process, a few at a time, each for at most a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated, Literal

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from server.auth import CurrentPrincipal
from server.deps import AppSettings
from server.media_ice import server_ice_servers
from server.problems import Problem

log = logging.getLogger(__name__)

LOOPBACK_SECONDS = 60.0
MAX_LOOPBACKS = 4


class Loopbacks:
    """The echo peers running now."""

    def __init__(self) -> None:
        self.peers: set[RTCPeerConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._by_caller: dict[str, RTCPeerConnection] = {}

    async def answer(
        self, offer: RTCSessionDescription, config: RTCConfiguration, caller: str = ""
    ) -> str:
        # One echo per caller: a new test replaces the caller's last one, so nobody can
        # hold every slot while the points wait to test before a meeting.
        if (previous := self._by_caller.pop(caller, None)) is not None:
            await self._close(previous)
        if len(self.peers) >= MAX_LOOPBACKS:
            raise Problem(
                503,
                "busy",
                "other points are testing now; try again in a minute",
                headers={"Retry-After": "30"},
            )
        pc = RTCPeerConnection(config)
        relay = MediaRelay()
        self.peers.add(pc)
        self._by_caller[caller] = pc

        @pc.on("track")
        def echo(track: MediaStreamTrack) -> None:
            pc.addTrack(relay.subscribe(track))

        try:
            await pc.setRemoteDescription(offer)
            # aiortc reads any text as an offer of nothing: junk would hold a slot a minute.
            if not pc.getTransceivers():
                raise ValueError("it offers no audio or video")
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            await self._close(pc)
            raise Problem(422, "bad_offer", f"the offer could not be answered: {exc}") from exc
        task = asyncio.create_task(self._expire(pc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return pc.localDescription.sdp

    async def _expire(self, pc: RTCPeerConnection) -> None:
        ended = asyncio.Event()

        @pc.on("connectionstatechange")
        def watch() -> None:
            if pc.connectionState in ("failed", "closed"):
                ended.set()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ended.wait(), LOOPBACK_SECONDS)
        await self._close(pc)

    async def _close(self, pc: RTCPeerConnection) -> None:
        self.peers.discard(pc)
        for caller, held in list(self._by_caller.items()):
            if held is pc:
                del self._by_caller[caller]
        with contextlib.suppress(Exception):
            await pc.close()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for pc in list(self.peers):
            await self._close(pc)


def get_loopbacks(request: Request) -> Loopbacks:
    loopbacks: Loopbacks = request.app.state.loopbacks
    return loopbacks


class Offer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["offer"] = "offer"
    sdp: str = Field(min_length=10, max_length=64_000)


class Answer(BaseModel):
    type: Literal["answer"] = "answer"
    sdp: str


router = APIRouter(prefix="/api/media", tags=["media"])


@router.post(
    "/loopback",
    response_model=Answer,
    summary="Self-test: an echo peer that sends the caller's camera and microphone back",
)
async def loopback(
    body: Offer,
    principal: CurrentPrincipal,
    settings: AppSettings,
    loopbacks: Annotated[Loopbacks, Depends(get_loopbacks)],
) -> Answer:
    config = RTCConfiguration(iceServers=server_ice_servers(settings))
    caller = f"{principal.kind.value}:{principal.id}"
    sdp = await loopbacks.answer(RTCSessionDescription(sdp=body.sdp, type="offer"), config, caller)
    return Answer(sdp=sdp)
