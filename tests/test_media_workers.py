"""Media on worker processes: peers spread over two `hoinghi media-worker` processes the
server starts, frames and keyframe requests crossing between them."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from rooms.media.client import ColourBars, MediaClient, Tone
from server.settings import Settings
from tests.conftest import test_settings
from tests.media_helpers import BLUE, RED, is_colour, join_with_media, until
from tests.province import Province


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # One peer per worker before the next is used: every meeting here spans both workers.
    return test_settings(database_url, tmp_path, media_workers=2, media_peers_per_worker=1)


async def test_the_floor_and_the_chair_cross_between_workers(live_province: Province) -> None:
    p = live_province
    mid, (point_a, point_b) = await p.live_meeting(2)
    chair_media = MediaClient(ColourBars(RED), Tone(440))
    chair, _ = await join_with_media(p, mid, p.auth("chair"), chair_media)  # worker 1
    a_media = MediaClient()
    a, _ = await join_with_media(p, mid, await p.device(point_a), a_media)  # worker 2
    b_media = MediaClient(ColourBars(BLUE), Tone(660))
    b, _ = await join_with_media(p, mid, await p.device(point_b), b_media)  # back on worker 1
    rooms: list[Any] = [chair, a, b]
    try:
        placed = (await p.client.get("/api/media/workers", headers=p.auth("admin"))).json()
        assert [w["peers"] for w in placed["workers"]] == [2, 1]
        assert all(w["up"] for w in placed["workers"])
        main_video = a_media.slots["main.video"]
        await until(lambda: main_video.frames > 0, within=15)
        first = a_media.first_frame_after_start("main.video")
        assert first is not None and first < 1.5, first
        await asyncio.sleep(2)
        assert is_colour(RED, main_video.mean_rgb())
        assert main_video.fps() >= 25, main_video.fps()
        assert a_media.slots["main.audio"].frames > 50

        assert (await chair.send("grant_floor", target=f"p:{point_b}"))["type"] == "ack"
        floor = a_media.slots["floor.video"]
        await until(lambda: is_colour(BLUE, floor.mean_rgb()), within=15)
        await until(lambda: a_media.slots["floor.audio"].frames > 20)

        # Recording happens on the chair's worker; the server lists it.
        assert (await chair.send("start_recording"))["type"] == "ack"
        await asyncio.sleep(2)
        assert (await chair.send("stop_recording"))["type"] == "ack"
        listed: list[dict[str, Any]] = []
        async with asyncio.timeout(10):
            while not listed:
                answer = await p.client.get(
                    f"/api/meetings/{mid}/recordings", headers=p.auth("chair")
                )
                listed = answer.json()
                await asyncio.sleep(0.2)
        assert listed[0]["bytes"] > 10_000

        # Link figures come back from both workers.
        async with asyncio.timeout(15):
            while True:
                links = (
                    await p.client.get(f"/api/meetings/{mid}/links", headers=p.auth("chair"))
                ).json()["links"]
                if {f"p:{point_a}", f"p:{point_b}"} <= links.keys():
                    break
                await asyncio.sleep(0.5)
    finally:
        for client in (chair_media, a_media, b_media):
            await client.close()
        for room in rooms:
            await room.close()


async def test_a_worker_that_dies_is_started_again_and_used(live_province: Province) -> None:
    p = live_province
    mid, (point,) = await p.live_meeting(1)

    async def workers() -> list[dict[str, Any]]:
        answer = await p.client.get("/api/media/workers", headers=p.auth("admin"))
        listed: list[dict[str, Any]] = answer.json()["workers"]
        return listed

    before = await workers()
    victim = before[1]
    os.kill(victim["pid"], signal.SIGKILL)
    async with asyncio.timeout(30):
        while True:
            now = (await workers())[1]
            if now["up"] and now.get("restarts") == 1 and now["pid"] != victim["pid"]:
                break
            await asyncio.sleep(0.2)
    assert now["address"] == victim["address"]

    chair_media = MediaClient(ColourBars(RED))
    chair, _ = await join_with_media(p, mid, p.auth("chair"), chair_media)
    point_media = MediaClient()
    room, _ = await join_with_media(p, mid, await p.device(point), point_media)  # on the new worker
    try:
        assert [w["peers"] for w in await workers()] == [1, 1]
        await until(lambda: point_media.slots["main.video"].frames > 10, within=15)
    finally:
        for client in (chair_media, point_media):
            await client.close()
        for each in (chair, room):
            await each.close()
