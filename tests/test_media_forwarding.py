"""The media plane with real aiortc peers against the live server: the chair is seen and
heard at the points, the floor follows the room, muting is enforced, nothing re-encoded."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import av
import pytest

from rooms.media import aiortc_hooks
from rooms.media.client import ColourBars, MediaClient, Tone
from tests.media_helpers import BLUE, RED, is_colour, join_with_media, until
from tests.province import Province
from tests.roomclient import RoomClient


def test_the_aiortc_internals_forwarding_relies_on_are_there() -> None:
    # If this fails after an aiortc upgrade, rooms/media/aiortc_hooks.py needs a look.
    aiortc_hooks.check()


async def test_the_chair_is_seen_and_heard_and_the_floor_follows_the_room(
    live_province: Province,
) -> None:
    p = live_province
    mid, (point_a, point_b) = await p.live_meeting(2)
    chair_media = MediaClient(ColourBars(RED), Tone(440))
    chair, _ = await join_with_media(p, mid, p.auth("chair"), chair_media)
    a_media = MediaClient()  # a point with no camera: it only receives
    a, reply = await join_with_media(p, mid, await p.device(point_a), a_media)
    assert reply["slots"]["main"] == f"u:{p.accounts['chair'].id}"
    assert reply["slots"]["floor"] is None
    b_media = MediaClient(ColourBars(BLUE), Tone(660))
    b, _ = await join_with_media(p, mid, await p.device(point_b), b_media)
    try:
        main_video, main_audio = a_media.slots["main.video"], a_media.slots["main.audio"]
        await until(lambda: main_video.frames > 0 and main_audio.frames > 0)
        first = a_media.first_frame_after_start("main.video")
        assert first is not None and first < 1.0, f"first frame after {first:.2f} s"
        # Decoded at the point, the chair's red picture; at the chair's full rate.
        await asyncio.sleep(2.5)
        assert is_colour(RED, main_video.mean_rgb()), main_video.mean_rgb()
        assert main_video.fps() >= 25, main_video.fps()
        assert main_audio.fps() >= 40  # 20 ms Opus frames: 50 a second
        # Nobody gets their own picture back.
        assert chair_media.slots["main.video"].frames == 0
        assert a_media.slots["floor.video"].frames == 0

        # The chair gives point B the floor: A sees B on the floor slot, without any
        # renegotiation, from B's next keyframe on.
        assert (await chair.send("grant_floor", target=f"p:{point_b}"))["type"] == "ack"
        floor_video = a_media.slots["floor.video"]
        floor_audio = a_media.slots["floor.audio"]
        await until(lambda: floor_video.frames > 0 and floor_audio.frames > 0)
        await until(lambda: is_colour(BLUE, floor_video.mean_rgb()))
        assert is_colour(RED, main_video.mean_rgb())
        # The chair sees and hears the floor too; B does not get itself back.
        await until(lambda: chair_media.slots["floor.video"].frames > 0)
        assert b_media.slots["floor.video"].frames == 0

        # Muted by the chair: B's voice stops on the server; its picture goes on.
        assert (await chair.send("mute", target=f"p:{point_b}"))["type"] == "ack"
        await asyncio.sleep(0.5)
        heard, seen = floor_audio.frames, floor_video.frames
        await asyncio.sleep(1.5)
        assert floor_audio.frames - heard <= 3, "muted audio still forwarded"
        assert floor_video.frames - seen > 20
        assert (await chair.send("unmute", target=f"p:{point_b}"))["type"] == "ack"
        await until(lambda: floor_audio.frames - heard > 20)

        # The floor is taken back: the slot falls silent.
        assert (await chair.send("revoke_floor"))["type"] == "ack"
        await asyncio.sleep(0.5)
        stopped = floor_video.frames
        await asyncio.sleep(1.0)
        assert floor_video.frames - stopped <= 1
    finally:
        for client in (chair_media, a_media, b_media):
            await client.close()
        for room in (chair, a, b):
            await room.close()


async def test_a_point_that_joins_late_gets_a_picture_within_a_second(
    live_province: Province,
) -> None:
    p = live_province
    mid, (point,) = await p.live_meeting(1)
    chair_media = MediaClient(ColourBars(RED))
    chair, _ = await join_with_media(p, mid, p.auth("chair"), chair_media)
    await asyncio.sleep(3)  # the chair's first keyframe is long gone
    late = MediaClient()
    room, _ = await join_with_media(p, mid, await p.device(point), late)
    try:
        await until(lambda: late.slots["main.video"].frames > 0, within=5)
        first = late.first_frame_after_start("main.video")
        assert first is not None and first < 1.0, f"first frame after {first:.2f} s"
    finally:
        for client in (chair_media, late):
            await client.close()
        for each in (chair, room):
            await each.close()


async def test_bad_media_commands_are_refused_in_words(live_province: Province) -> None:
    p = live_province
    mid, (point,) = await p.live_meeting(1)
    room = await RoomClient.open(p.ws_url, mid, await p.device(point))
    await room.wait_for(lambda f: f["type"] == "welcome")
    try:
        garbage = await room.send("offer", sdp="v=0 this is not sdp at all")
        assert garbage["type"] == "error" and garbage["code"] == "bad_offer"
        few = MediaClient()
        few.pc.addTransceiver("video", direction="recvonly")
        await few.pc.setLocalDescription(await few.pc.createOffer())
        short = await room.send("offer", sdp=few.pc.localDescription.sdp)
        assert short["code"] == "bad_offer" and "m-lines" in short["message"]
        await few.close()
        # A point asks for the organizers' thumbnails: refused.
        greedy = MediaClient(thumbnails=2)
        refused = await room.send("offer", sdp=await greedy.offer())
        assert refused["code"] == "forbidden"
        await greedy.close()
        early = await room.send("candidate", candidate="candidate:1 1 udp 1 1.2.3.4 5 typ host")
        assert early["code"] == "no_peer"
        pages = await room.send("thumbnails", page=1)
        assert pages["code"] == "no_thumbnails"
        # The socket is still there and the room still answers.
        assert (await room.send("ping"))["type"] == "ack"
    finally:
        await room.close()


@pytest.mark.parametrize("thumbnails", [3])
async def test_the_chair_pages_through_point_thumbnails(
    live_province: Province, thumbnails: int
) -> None:
    p = live_province
    mid, points = await p.live_meeting(2)
    chair_media = MediaClient(thumbnails=thumbnails)
    chair, _ = await join_with_media(p, mid, p.auth("chair"), chair_media)
    colours = [RED, BLUE]
    medias, rooms = [], []
    try:
        for point, colour in zip(points, colours, strict=True):
            media = MediaClient(ColourBars(colour))
            room, _ = await join_with_media(p, mid, await p.device(point), media)
            medias.append(media)
            rooms.append(room)
        page = await chair.send("thumbnails", page=0)
        assert page["type"] == "ack"
        shown = page["slots"]["thumbnails"]
        assert sorted(k for k in shown if k) == sorted(f"p:{pid}" for pid in points)
        assert shown[2] is None and page["slots"]["pages"] == 1
        for index in range(2):
            got = chair_media.slots[f"thumb{index}.video"]
            await until(lambda got=got: got.frames > 5)
        seen = {
            "red" if is_colour(RED, chair_media.slots[f"thumb{i}.video"].mean_rgb()) else "blue"
            for i in range(2)
        }
        assert seen == {"red", "blue"}
    finally:
        for media in [chair_media, *medias]:
            await media.close()
        for room in [chair, *rooms]:
            await room.close()


async def test_the_chair_records_main_and_floor_into_a_file_that_plays(
    live_province: Province, tmp_path: Path
) -> None:
    p = live_province
    mid, (point,) = await p.live_meeting(1)
    chair_media = MediaClient(ColourBars(RED), Tone(440))
    chair, _ = await join_with_media(p, mid, p.auth("chair"), chair_media)
    point_media = MediaClient(ColourBars(BLUE), Tone(660))
    room, _ = await join_with_media(p, mid, await p.device(point), point_media)
    try:
        refused = await room.send("start_recording")
        assert refused["type"] == "error" and refused["code"] == "not_allowed"
        assert (await chair.send("stop_recording"))["code"] == "not_recording"
        await until(lambda: point_media.slots["main.video"].frames > 0)

        item = await p.client.post(
            f"/api/meetings/{mid}/agenda",
            headers=p.auth("secretary"),
            json={"title": "Báo cáo tình hình tháng 11", "planned_minutes": 20},
        )
        assert item.status_code == 201, item.text
        assert (await room.send("set_agenda_item", item_id=item.json()["id"]))["code"] == (
            "not_allowed"
        )
        assert (await chair.send("set_agenda_item", item_id=999_999))["code"] == "not_found"
        assert (await chair.send("set_agenda_item", item_id=item.json()["id"]))["type"] == "ack"
        await room.event("agenda.current", title="Báo cáo tình hình tháng 11")
        started = await chair.send("start_recording")
        assert started["type"] == "ack"
        await room.event("recording.started", number=1)
        await asyncio.sleep(1.0)
        assert (await chair.send("grant_floor", target=f"p:{point}"))["type"] == "ack"
        await asyncio.sleep(2.0)
        assert (await chair.send("stop_recording"))["type"] == "ack"
        await room.event("recording.stopped", number=1)

        listed: list[dict[str, Any]] = []
        async with asyncio.timeout(10):
            while not listed:
                answer = await p.client.get(
                    f"/api/meetings/{mid}/recordings", headers=p.auth("secretary")
                )
                assert answer.status_code == 200, answer.text
                listed = answer.json()
                await asyncio.sleep(0.1)
        (recording,) = listed
        assert recording["number"] == 1 and 2.5 < recording["seconds"] < 4.5
        assert recording["agenda_item_title"] == "Báo cáo tình hình tháng 11"
        download = await p.client.get(recording["url"], headers=p.auth("chair"))
        assert download.status_code == 200
        assert download.headers["content-type"] == "video/webm"
        assert len(download.content) == recording["bytes"]
        # Kept in the content-addressed blob store: named by, and tagged with, its sha256.
        digest = hashlib.sha256(download.content).hexdigest()
        assert download.headers["etag"] == f'"{digest}"'
        assert (tmp_path / "data" / "blobs" / "sha256" / digest[:2] / digest).is_file()
        assert not list((tmp_path / "data" / "recordings").rglob("*.webm"))
        path = tmp_path / "recording.webm"
        path.write_bytes(download.content)
    finally:
        for client in (chair_media, point_media):
            await client.close()
        for each in (chair, room):
            await each.close()

    # PyAV opens it: four tracks, the length of the recording, pictures that decode.
    with av.open(str(path)) as container:
        kinds = [s.type for s in container.streams]
        assert kinds == ["video", "audio", "video", "audio"]
        assert container.duration is not None
        assert abs(container.duration / 1e6 - recording["seconds"]) < 0.7
        main_video, _, floor_video, _ = container.streams
        frames = {main_video.index: 0, floor_video.index: 0}
        for frame in container.decode(video=0):
            frames[main_video.index] += 1
            assert frame.width == 320
        assert frames[main_video.index] > 60  # ~3 s at 30 fps
    with av.open(str(path)) as container:
        floor_frames = sum(1 for _ in container.decode(video=1))
        assert floor_frames > 20  # the floor, from the grant on
    unknown = await p.client.get(f"/api/meetings/{mid}/recordings/7.webm", headers=p.auth("chair"))
    assert unknown.status_code == 404
    # An official not invited to the meeting sees neither the list nor the file.
    for url in (f"/api/meetings/{mid}/recordings", recording["url"]):
        assert (await p.client.get(url, headers=p.auth("official"))).status_code == 404


async def test_each_link_is_measured_and_kept_on_the_point(live_province: Province) -> None:
    p = live_province
    mid, (point,) = await p.live_meeting(1)
    chair_media = MediaClient(ColourBars(RED), Tone(440))
    chair, _ = await join_with_media(p, mid, p.auth("chair"), chair_media)
    point_media = MediaClient(ColourBars(BLUE))
    room, _ = await join_with_media(p, mid, await p.device(point), point_media)
    try:
        figures: dict[str, Any] = {}
        async with asyncio.timeout(20):
            while figures.get("fps_in") is None:
                await asyncio.sleep(0.5)
                answer = await p.client.get(f"/api/meetings/{mid}/links", headers=p.auth("chair"))
                assert answer.status_code == 200
                figures = answer.json()["links"].get(f"p:{point}", {})
        assert 20 <= figures["fps_in"] <= 40, figures
        assert (figures["width"], figures["height"]) == (320, 180)
        assert figures["kbps_in"] > 20 and figures["kbps_out"] > 20  # its camera in, main out
        assert figures["loss_pct"] == 0.0
        chair_links = await p.client.get(f"/api/meetings/{mid}/links", headers=p.auth("chair"))
        assert chair_links.json()["links"][f"u:{p.accounts['chair'].id}"]["width"] == 320
        # Points may not read the meeting's links.
        refused = await p.client.get(f"/api/meetings/{mid}/links", headers=await p.device(point))
        assert refused.status_code in (403, 404)
        # The point's own record carries the latest figures, for the network page.
        async with asyncio.timeout(10):
            while True:
                shown = await p.client.get(f"/api/points/{point}", headers=p.auth("admin"))
                stats = shown.json()["last_link_stats"] or {}
                if stats.get("fps_in") is not None:
                    break
                await asyncio.sleep(0.5)
        assert stats["meeting_id"] == mid and stats["width"] == 320
    finally:
        for client in (chair_media, point_media):
            await client.close()
        for each in (chair, room):
            await each.close()


async def test_a_points_picture_loss_reaches_the_chair_throttled(live_province: Province) -> None:
    p = live_province
    mid, (point,) = await p.live_meeting(1)
    chair_media = MediaClient(ColourBars(RED))
    chair, _ = await join_with_media(p, mid, p.auth("chair"), chair_media)
    asked: list[float] = []
    camera_sender = chair_media.pc.getTransceivers()[0].sender
    original = camera_sender._send_keyframe

    def counted() -> None:  # the chair's encoder is told to make a keyframe
        asked.append(asyncio.get_running_loop().time())
        original()

    aiortc_hooks.on_keyframe_request(camera_sender, counted)
    point_media = MediaClient()
    room, _ = await join_with_media(p, mid, await p.device(point), point_media)
    try:
        await until(lambda: point_media.slots["main.video"].frames > 10)
        await asyncio.sleep(1.0)  # the join's own request is over
        before = len(asked)
        receiver = point_media.pc.getTransceivers()[0].receiver
        for _ in range(5):  # the point reports picture loss five times in 0.1 s
            assert aiortc_hooks.request_keyframe(receiver)
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)
        # Forwarded to the chair, at most one now and one when the 0.5 s are up.
        assert 1 <= len(asked) - before <= 2, asked[before:]
    finally:
        for client in (chair_media, point_media):
            await client.close()
        for each in (chair, room):
            await each.close()
