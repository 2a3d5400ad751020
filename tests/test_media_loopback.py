"""The media self-test: a real aiortc peer sends its camera to the server's echo and sees
its own picture come back; bad offers and too many tests at once are refused."""

from __future__ import annotations

import asyncio
import contextlib

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamTrack

from rooms.media.client import ColourBars
from server.media_loopback import MAX_LOOPBACKS
from tests.media_helpers import GREEN, is_colour
from tests.province import Province


async def _offer(pc: RTCPeerConnection) -> str:
    pc.addTrack(ColourBars(GREEN))
    pc.addTrack(AudioStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    return pc.localDescription.sdp


async def test_a_point_sees_its_own_camera_come_back(province: Province) -> None:
    p = province
    device = await p.device(min(await p.point_ids("xa-tan-phu")))
    pc = RTCPeerConnection()
    back: dict[str, MediaStreamTrack] = {}
    video_back = asyncio.Event()

    @pc.on("track")
    def arrived(track: MediaStreamTrack) -> None:
        back[track.kind] = track
        if track.kind == "video":
            video_back.set()

    try:
        answer = await p.client.post(
            "/api/media/loopback", headers=device, json={"sdp": await _offer(pc)}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["type"] == "answer"
        await pc.setRemoteDescription(RTCSessionDescription(answer.json()["sdp"], "answer"))
        async with asyncio.timeout(20):
            await video_back.wait()
            frame = None
            for _ in range(30):  # the first frames may still be grey while decoding starts
                frame = await back["video"].recv()
                rgb = frame.to_ndarray(format="rgb24")
                mean = tuple(float(rgb[..., i].mean()) for i in range(3))
                if is_colour(GREEN, mean):
                    break
            else:
                raise AssertionError(f"the picture that came back is not ours: {mean}")
        assert "audio" in back
    finally:
        await pc.close()


async def test_bad_offers_strangers_and_crowds_are_refused(province: Province) -> None:
    p = province
    device = await p.device(min(await p.point_ids("xa-tan-phu")))
    stranger = await p.client.post("/api/media/loopback", json={"sdp": "v=0 " * 5})
    assert stranger.status_code == 401
    junk = await p.client.post("/api/media/loopback", headers=device, json={"sdp": "v=0 junk sdp"})
    assert junk.status_code == 422 and junk.json()["code"] == "bad_offer"
    wrong = await p.client.post(
        "/api/media/loopback", headers=device, json={"sdp": "x" * 20, "type": "answer"}
    )
    assert wrong.status_code == 422

    # Four callers at once fill the echo; a fifth is told to wait. A caller testing again
    # replaces their own echo instead of taking another slot.
    callers = [p.auth(role) for role in ("secretary", "chair", "admin", "operator", "official")]
    peers = [RTCPeerConnection() for _ in range(MAX_LOOPBACKS + 2)]
    try:
        answers = []
        for caller, pc in zip(callers, peers, strict=False):
            answers.append(
                await p.client.post(
                    "/api/media/loopback", headers=caller, json={"sdp": await _offer(pc)}
                )
            )
        assert [a.status_code for a in answers] == [200] * MAX_LOOPBACKS + [503]
        assert answers[-1].json()["code"] == "busy"
        again = await p.client.post(
            "/api/media/loopback", headers=callers[0], json={"sdp": await _offer(peers[-1])}
        )
        assert again.status_code == 200
    finally:
        for pc in peers:
            with contextlib.suppress(Exception):
                await pc.close()
