"""What the media tests share: joining a room with a media client, waiting on counters,
telling colours apart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from rooms.media.client import MediaClient
from tests.province import Province
from tests.roomclient import RoomClient

RED, GREEN, BLUE = (200, 30, 30), (30, 150, 60), (30, 30, 200)


async def join_with_media(
    p: Province, mid: int, headers: dict[str, str], media: MediaClient
) -> tuple[RoomClient, dict[str, Any]]:
    """Enter the room, offer the media client's peer connection, accept the answer."""
    room = await RoomClient.open(p.ws_url, mid, headers)
    await room.wait_for(lambda f: f["type"] == "welcome")
    reply = await room.send("offer", sdp=await media.offer())
    assert reply["type"] == "ack", reply
    await media.accept(reply["answer"]["sdp"])
    return room, reply


async def until(check: Callable[[], bool], within: float = 15.0) -> None:
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - polls counters that media tasks bump
            await asyncio.sleep(0.05)


def is_colour(colour: tuple[int, int, int], rgb: tuple[float, float, float] | None) -> bool:
    return rgb is not None and all(abs(a - b) < 40 for a, b in zip(colour, rgb, strict=True))
