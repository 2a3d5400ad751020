"""The point agent (`hoinghi point-agent`) against the live server: it finds its meeting,
waits in the lobby, joins, sends and receives media, answers the roll call, comes back by
itself after a dropped socket or a server restart, and stops on a refused token."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner

from rooms.media.client import ColourBars, MediaClient, Tone
from server.cli import main
from server.db import Database
from server.identity import Role
from server.point_agent import Backoff, MeetingSession, PointAgent, TokenRefused
from server.settings import Settings
from tests.conftest import LiveServer, make_account, serving
from tests.media_helpers import GREEN, RED, is_colour, join_with_media, until
from tests.province import Province, make_province
from tests.roomclient import RoomClient


async def _token(p: Province, point: int) -> str:
    return (await p.device(point))["Authorization"].removeprefix("Bearer ")


def _receiving(session: MeetingSession | None, before: MediaClient | None = None) -> bool:
    media = session.media if session else None
    return media is not None and media is not before and media.slots["main.video"].frames > 0


async def _chair_joins(p: Province, mid: int) -> tuple[RoomClient, MediaClient]:
    media = MediaClient(ColourBars(RED), Tone(440))
    room, _ = await join_with_media(p, mid, p.auth("chair"), media)
    return room, media


def _joined(key: str) -> Callable[[dict[str, Any]], bool]:
    def match(frame: dict[str, Any]) -> bool:
        if frame["type"] == "welcome":
            return key in {m["key"] for m in frame["snapshot"]["members"]}
        return (
            frame["type"] == "event"
            and frame["event"] == "member.joined"
            and frame["data"]["key"] == key
        )

    return match


async def test_the_agent_waits_joins_sends_receives_and_comes_back_by_itself(
    live_province: Province,
) -> None:
    p = live_province
    point = min(await p.point_ids("xa-tan-phu"))
    key = f"p:{point}"
    # Scheduled to start in five minutes: the agent waits in the lobby.
    meeting = await p.meeting(starts=datetime.now(UTC) + timedelta(minutes=5))
    mid = meeting["id"]
    await p.invite(mid, point_ids=[point])
    assert (await p.step(mid, "schedule")).status_code == 200

    agent = PointAgent(
        str(p.client.base_url), await _token(p, point), test_pattern=True, head_count=7
    )
    agent.report_seconds = 0.5
    running = asyncio.create_task(agent.run())
    chair = chair_media = None
    try:
        await until(lambda: mid in agent.sessions and agent.sessions[mid].state == "lobby")
        session = agent.sessions[mid]
        assert session.media is None and session.joins == []

        # The chair starts the meeting: the agent is admitted and the chair sees it.
        assert (await p.step(mid, "start", role="chair")).status_code == 200
        chair, chair_media = await _chair_joins(p, mid)
        await chair.wait_for(_joined(key))
        await until(lambda: _receiving(session))
        assert session.joins == ["welcome"]
        # The chair's red picture, decoded at the point, at about the chair's rate.
        assert session.media is not None
        await until(lambda: is_colour(RED, session.media.slots["main.video"].mean_rgb()))
        await until(lambda: session.fps["main"] > 10)

        # Heartbeats carry the point's own figures of its media link.
        async def reported() -> dict[str, Any]:
            shown = await p.client.get(f"/api/points/{point}", headers=p.auth("admin"))
            figures: dict[str, Any] = shown.json()["reported_stats"] or {}
            return figures

        async with asyncio.timeout(15):
            while (await reported()).get("kbps_in", 0) <= 0:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        assert {"kbps_in", "kbps_out"} <= set(await reported())

        # Roll call: answered by itself with the head count it was given.
        assert (await chair.send("open_roll_call"))["type"] == "ack"
        answered = await chair.event("roll_call.answered", key=key)
        assert answered["data"]["head_count"] == 7

        # The floor: the chair sees and hears the point's test pattern.
        assert (await chair.send("grant_floor", target=key))["type"] == "ack"
        await until(lambda: session.floor is not None and session.floor[0] == key)
        await until(lambda: chair_media.slots["floor.video"].frames > 10)
        await until(lambda: chair_media.slots["floor.audio"].frames > 10)

        # The agent's connection drops: it comes back by itself, resumes the room's events
        # (the floor it lost by leaving) and negotiates media again.
        before = session.media
        last = session.last_seq
        assert session.ws is not None and last is not None
        session.ws.transport.abort()
        left = await chair.event("member.left", key=key)
        await chair.wait_for(
            lambda f: (
                f["type"] == "event"
                and f["event"] == "member.joined"
                and f["data"]["key"] == key
                and f["seq"] > left["seq"]
            )
        )
        await until(lambda: _receiving(session, before))
        assert session.joins == ["welcome", "resumed"]
        assert session.last_seq is not None and session.last_seq > last
        assert session.floor is None  # floor.revoked (left), replayed on resume
        assert session.state == "in room"

        # Stopped: it leaves the room and run() returns.
        agent.stop()
        await asyncio.wait_for(running, 15)
        assert agent.sessions == {}
        await chair.event("member.left", key=key, last=True)
    finally:
        agent.stop()
        if not running.done():
            running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        if chair_media is not None:
            await chair_media.close()
        if chair is not None:
            await chair.close()


def _video_file(path: Path, seconds: int = 2) -> Path:
    """A short MPEG-4 file, green with a moving bar, with a 440 Hz tone."""
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=25)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        audio = out.add_stream("aac", rate=48_000)
        for i in range(25 * seconds):
            image = np.zeros((180, 320, 3), np.uint8)
            image[:, :] = GREEN
            image[:, (i * 4) % 300 : (i * 4) % 300 + 8] = 255
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        for i in range(50 * seconds):
            t = (np.arange(960) + 960 * i) / 48_000
            pcm = (3000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
            frame.sample_rate, frame.pts = 48_000, 960 * i
            frame.time_base = Fraction(1, 48_000)
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode():
            out.mux(packet)
    return path


async def test_the_agent_sends_a_video_file_looped(live_province: Province, tmp_path: Path) -> None:
    p = live_province
    not_video = tmp_path / "notes.txt"
    not_video.write_text("không phải video")
    with pytest.raises(ValueError, match="cannot play"):
        await PointAgent(str(p.client.base_url), "hd_x", video=str(not_video)).run()

    mid, (point,) = await p.live_meeting(1)
    key = f"p:{point}"
    chair, chair_media = await _chair_joins(p, mid)
    file = _video_file(tmp_path / "clip.mp4")
    agent = PointAgent(str(p.client.base_url), await _token(p, point), video=str(file))
    running = asyncio.create_task(agent.run())
    try:
        await chair.wait_for(_joined(key))
        assert (await chair.send("grant_floor", target=key))["type"] == "ack"
        floor_video = chair_media.slots["floor.video"]
        floor_audio = chair_media.slots["floor.audio"]
        await until(lambda: floor_video.frames > 0 and floor_audio.frames > 0)
        await until(lambda: is_colour(GREEN, floor_video.mean_rgb()))
        # Past the file's two seconds: it loops.
        await asyncio.sleep(3)
        seen = floor_video.frames
        await until(lambda: floor_video.frames > seen + 10)
        assert floor_video.fps() > 15

        # The meeting ends: the agent leaves it, and goes on waiting for the next one.
        assert (await p.step(mid, "end", role="chair")).status_code == 200
        await until(lambda: mid not in agent.sessions)
        await asyncio.sleep(0.5)
        assert not running.done() and mid not in agent.sessions
    finally:
        agent.stop()
        await asyncio.gather(running, return_exceptions=True)
        await chair_media.close()
        await chair.close()


async def test_a_refused_token_stops_the_agent_with_a_clear_error(
    live_province: Province,
) -> None:
    p = live_province
    bogus = PointAgent(str(p.client.base_url), "hd_not-a-real-token")
    with pytest.raises(TokenRefused, match=r"refused the device token.*invalid_token"):
        await asyncio.wait_for(bogus.run(), 15)

    # A token rotated while the agent is in a meeting: kicked out, and stopped.
    mid, (point,) = await p.live_meeting(1)
    agent = PointAgent(str(p.client.base_url), await _token(p, point))
    running = asyncio.create_task(agent.run())
    try:
        await until(lambda: mid in agent.sessions and agent.sessions[mid].state == "in room")
        await p.device(point)  # rotates the token
        with pytest.raises(TokenRefused, match="invalid_token"):
            await asyncio.wait_for(running, 20)
        assert agent.sessions == {}
    finally:
        agent.stop()
        await asyncio.gather(running, return_exceptions=True)


def test_the_command_refuses_a_bad_token_in_words(live_server: LiveServer) -> None:
    command = [sys.executable, "-m", "server", "point-agent", "--server", live_server.url]
    done = subprocess.run(
        [*command, "--token", "hd_nope"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    assert "Error: the server refused the device token (invalid_token" in done.stderr


async def test_the_command_joins_and_stops_cleanly_on_sigterm(live_province: Province) -> None:
    p = live_province
    mid, (point,) = await p.live_meeting(1)
    chair, chair_media = await _chair_joins(p, mid)
    # The token from the environment: it stays out of the process list.
    env = {**os.environ, "HOINGHI_DEVICE_TOKEN": await _token(p, point)}
    agent = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "server", "point-agent", "--server", str(p.client.base_url)],
        "--test-pattern",
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    lines: list[str] = []
    try:
        assert agent.stderr is not None
        async with asyncio.timeout(30):
            while "media negotiated" not in "".join(lines):
                line = (await agent.stderr.readline()).decode()
                assert line, "".join(lines)
                lines.append(line)
        await chair.wait_for(_joined(f"p:{point}"))
        agent.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(agent.stderr.read(), 20)
        assert await agent.wait() == 0, "".join(lines) + rest.decode()
        assert "point agent stopped" in rest.decode()
        await chair.event("member.left", key=f"p:{point}", last=True)
    finally:
        if agent.returncode is None:
            agent.kill()
            await agent.wait()
        await chair_media.close()
        await chair.close()


def test_the_command_describes_every_option() -> None:
    command = main.commands["point-agent"]
    for param in command.params:
        assert isinstance(param, click.Option)
        assert param.help, param.name
    result = CliRunner().invoke(main, ["point-agent", "--help"])
    assert result.exit_code == 0
    for option in ("--server", "--token", "--video", "--test-pattern", "--head-count"):
        assert option in result.output
    both = CliRunner().invoke(
        main,
        [
            "point-agent",
            "--server",
            "http://x",
            "--token",
            "hd_x",
            "--test-pattern",
            "--video",
            __file__,
        ],
    )
    assert both.exit_code == 2 and "cannot be used together" in both.output
    bad_url = CliRunner().invoke(main, ["point-agent", "--server", "x.example", "--token", "hd_x"])
    assert bad_url.exit_code == 2 and "http://" in bad_url.output


def test_backoff_doubles_to_thirty_seconds_with_jitter() -> None:
    backoff = Backoff()
    delays = [backoff.next() for _ in range(8)]
    for delay, ceiling in zip(delays, [1, 2, 4, 8, 16, 30, 30, 30], strict=True):
        assert ceiling / 2 <= delay <= ceiling
    backoff.reset()
    assert backoff.next() <= 1


async def test_the_agent_survives_a_server_restart(settings: Settings) -> None:
    database = Database(settings.database_url)
    agent: PointAgent | None = None
    running: asyncio.Task[None] | None = None
    try:
        with serving(settings) as first:
            port = int(first.url.rsplit(":", 1)[1])
            async with httpx.AsyncClient(base_url=first.url) as client:
                accounts = {r.value: await make_account(database, client, r.value, r) for r in Role}
                p = await make_province(database, client, accounts)
                p.ws_url = first.url.replace("http://", "ws://")
                mid, (point,) = await p.live_meeting(1)
                token = await _token(p, point)
            agent = PointAgent(first.url, token, test_pattern=True)
            running = asyncio.create_task(agent.run())
            await until(lambda: mid in agent.sessions and agent.sessions[mid].state == "in room")
            session = agent.sessions[mid]
        # The server is gone: the agent keeps trying.
        await until(lambda: session.state == "reconnecting")
        with serving(settings, port=port) as second:
            async with httpx.AsyncClient(base_url=second.url) as client:
                p.client = client
                p.ws_url = second.url.replace("http://", "ws://")
                chair, chair_media = await _chair_joins(p, mid)
                try:
                    await until(lambda: session.joins == ["welcome", "resumed"], within=40)
                    await chair.wait_for(_joined(f"p:{point}"))
                    await until(lambda: _receiving(session))
                finally:
                    await chair_media.close()
                    await chair.close()
            agent.stop()
            await asyncio.wait_for(running, 15)
    finally:
        if agent is not None:
            agent.stop()
        if running is not None:
            await asyncio.gather(running, return_exceptions=True)
        await database.dispose()
