"""The point agent: a conference point without a browser (``hoinghi point-agent``).

With a point's device token it asks the server which meetings the point is invited to
(``GET /api/meetings``, every 30 s) and joins each one that is live, or scheduled to start
within 15 minutes (the room socket holds it in the lobby and admits it when the chair
starts). In the room it negotiates media with ``rooms.media.client.MediaClient``: colour
bars and a tone (``test_pattern``), a looped video file with its sound, or nothing
(receive only). It logs who has the floor and roll calls, answers roll calls when given a
head count, and reports every 10 s the frame rates it receives.

It reconnects by itself: a dropped socket or a restarted server is retried after 1 s,
doubling to 30 s, jittered; the room's events resume where they stopped (``resume_from``)
and media is negotiated again. A refused device token (401, close 4401) ends it with
``TokenRefused``. For room PCs without a browser, and for load tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiortc import MediaStreamTrack, RTCIceServer
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from rooms.media.client import ColourBars, MediaClient, Tone
from server import __version__

log = logging.getLogger(__name__)

POLL_SECONDS = 30.0
# A scheduled meeting is joined (its lobby) this long before it starts.
LOBBY_LEAD = timedelta(minutes=15)
PING_SECONDS = 20.0
REPORT_SECONDS = 10.0
REPLY_SECONDS = 30.0  # an offer's answer, like any command's, should come well within this
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MOST_SECONDS = 30.0
PATTERN_SIZE = (640, 360)
# Test pattern colours: a different one per point, so a load test's pictures differ.
PALETTE = (
    (200, 30, 30),
    (30, 150, 60),
    (30, 60, 200),
    (210, 150, 20),
    (140, 40, 160),
    (20, 150, 160),
)
# Close codes of the room socket (docs/protocol.md, "Connecting").
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
OVER_STATUSES = frozenset({"ended", "closed", "cancelled"})


class TokenRefused(Exception):
    """The server does not accept the device token: retrying would not help."""


class MeetingOver(Exception):
    """The meeting is over for this point: ended, cancelled, gone, or no longer invited."""


class ConnectionLost(Exception):
    """The room socket closed for a reason worth reconnecting over."""


class Backoff:
    """Reconnection delays: 1 s doubling to 30 s, each drawn from the upper half of its step
    (so that 200 points dropped at once do not come back at once)."""

    def __init__(
        self, first: float = BACKOFF_FIRST_SECONDS, most: float = BACKOFF_MOST_SECONDS
    ) -> None:
        self.first, self.most = first, most
        self.attempt = 0

    def next(self) -> float:
        ceiling = min(self.most, self.first * 2 ** min(self.attempt, 30))
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


class Sources:
    """The point's camera and microphone: fresh tracks for every peer connection."""

    def __init__(self, video_file: str | None = None, test_pattern: bool = False) -> None:
        if video_file and test_pattern:
            raise ValueError("give a video file or the test pattern, not both")
        self.video_file = video_file
        self.test_pattern = test_pattern

    def describe(self) -> str:
        if self.test_pattern:
            return f"sending a test pattern ({PATTERN_SIZE[0]}x{PATTERN_SIZE[1]}) and a tone"
        if self.video_file:
            return f"sending {self.video_file} (looped)"
        return "receiving only (no camera)"

    def check(self) -> None:
        """Fail early, in words, on a file that cannot be played."""
        if not self.video_file:
            return
        player = self._player()
        tracks = [t for t in (player.video, player.audio) if t is not None]
        for track in tracks:
            track.stop()
        if not tracks:
            raise ValueError(f"{self.video_file} has neither video nor audio")

    def _player(self) -> Any:
        from aiortc.contrib.media import MediaPlayer

        try:
            return MediaPlayer(self.video_file, loop=True)
        except AssertionError:  # aiortc's way of saying the file cannot be rewound
            raise ValueError(f"cannot loop {self.video_file}: not a seekable file") from None
        except Exception as exc:  # av.FFmpegError, OSError, ...
            raise ValueError(f"cannot play {self.video_file}: {exc}") from None

    def open(
        self, member_key: str
    ) -> tuple[MediaStreamTrack | None, MediaStreamTrack | None, Callable[[], None]]:
        """(video, audio, stop): the tracks to send, and what stops them afterwards."""
        video: MediaStreamTrack | None = None
        audio: MediaStreamTrack | None = None
        if self.test_pattern:
            digits = member_key.rpartition(":")[2]
            number = int(digits) if digits.isdigit() else 0
            video = ColourBars(PALETTE[number % len(PALETTE)], *PATTERN_SIZE)
            audio = Tone(440.0)
        elif self.video_file:
            try:
                player = self._player()
            except ValueError as exc:
                log.warning("%s; sending nothing this time", exc)
            else:
                video, audio = player.video, player.audio

        def stop() -> None:
            for track in (video, audio):
                if track is not None:
                    with contextlib.suppress(Exception):
                        track.stop()

        return video, audio, stop


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
        return f"{body.get('code')}: {body.get('detail')}"
    except ValueError:
        return f"HTTP {response.status_code}"


class PointAgent:
    """Joins, as one conference point, every meeting it is invited to that is on or about
    to start; ``await run()`` until ``stop()`` (or a refused token, ``TokenRefused``)."""

    def __init__(
        self,
        server: str,
        token: str,
        *,
        video: str | None = None,
        test_pattern: bool = False,
        head_count: int | None = None,
        poll_seconds: float = POLL_SECONDS,
        report_seconds: float = REPORT_SECONDS,
        ping_seconds: float = PING_SECONDS,
        lobby_lead: timedelta = LOBBY_LEAD,
    ) -> None:
        parts = urlsplit(server)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"the server's address starts with http:// or https://: {server!r}")
        if not token:
            raise ValueError("a device token is needed")
        self.server = server.rstrip("/")
        self.ws_base = "ws" + self.server.removeprefix("http")  # http -> ws, https -> wss
        self.token = token
        self.sources = Sources(video, test_pattern)
        self.head_count = head_count
        self.poll_seconds = poll_seconds
        self.report_seconds = report_seconds
        self.ping_seconds = ping_seconds
        self.lobby_lead = lobby_lead
        self.sessions: dict[int, MeetingSession] = {}  # the meetings followed now
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._finished: set[int] = set()  # over, and still listed: not joined again
        self._wake = asyncio.Event()
        self._stopping = False
        self.refused: TokenRefused | None = None
        self.http: httpx.AsyncClient | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "User-Agent": f"hoinghi-point-agent/{__version__}",
        }

    def stop(self) -> None:
        """Leave every meeting and return from ``run()`` (safe from a signal handler)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        self.sources.check()
        log.info("point agent for %s: %s", self.server, self.sources.describe())
        backoff = Backoff()
        reporter = asyncio.create_task(self._report_loop(), name="point-agent-report")
        try:
            async with httpx.AsyncClient(
                base_url=self.server, headers=self.headers, timeout=15
            ) as http:
                self.http = http
                while not self._stopping and self.refused is None:
                    try:
                        meetings = await self._meetings(http)
                    except (httpx.HTTPError, ConnectionLost, ValueError, KeyError) as exc:
                        delay = backoff.next()
                        log.warning(
                            "cannot list the meetings (%s: %s); trying again in %.1f s",
                            type(exc).__name__,
                            exc,
                            delay,
                        )
                    else:
                        if backoff.attempt:
                            log.info("the server answers again")
                        backoff.reset()
                        delay = self.poll_seconds
                        self._follow(meetings)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._wake.wait()
                    self._wake.clear()
                if self.refused is not None:
                    raise self.refused
        finally:
            reporter.cancel()
            await self._leave_all()
            self.http = None
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        log.info("point agent stopped")

    async def _meetings(self, http: httpx.AsyncClient) -> list[dict[str, Any]]:
        """The point's live meetings, and its scheduled ones that start soon."""
        now = datetime.now(UTC)
        live = await self._list(http, {"status": "live"})
        soon = await self._list(
            http,
            {
                "status": "scheduled",
                "from": now.isoformat(),
                "to": (now + self.lobby_lead).isoformat(),
            },
        )
        return live + soon

    async def _list(self, http: httpx.AsyncClient, params: dict[str, str]) -> list[dict[str, Any]]:
        response = await http.get("/api/meetings", params={**params, "limit": "1000"})
        if response.status_code == 401:
            raise TokenRefused(f"the server refused the device token ({_problem(response)})")
        if response.status_code != 200:
            raise ConnectionLost(f"GET /api/meetings: {_problem(response)}")
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def _follow(self, meetings: list[dict[str, Any]]) -> None:
        listed = {m["id"]: m for m in meetings}
        self._finished &= set(listed)  # once unlisted, a meeting may be joined again later
        for meeting_id, meeting in listed.items():
            if meeting_id in self._tasks or meeting_id in self._finished:
                continue
            session = MeetingSession(self, meeting)
            self.sessions[meeting_id] = session
            self._tasks[meeting_id] = asyncio.create_task(
                self._follow_one(session), name=f"point-agent-meeting-{meeting_id}"
            )

    async def _follow_one(self, session: MeetingSession) -> None:
        meeting_id = session.meeting_id
        try:
            await session.run()
            self._finished.add(meeting_id)
        except TokenRefused as refused:
            self.refused = refused
            self._wake.set()
        except Exception:  # a bug: say so, and let the next poll start over
            log.exception("meeting %s: the agent failed", meeting_id)
        finally:
            self.sessions.pop(meeting_id, None)
            self._tasks.pop(meeting_id, None)

    async def _leave_all(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(self.report_seconds)
            for session in list(self.sessions.values()):
                session.report()
            try:
                await self._heartbeat()
            except Exception:  # a report is not worth stopping the agent for
                log.exception("heartbeat failed")

    async def _heartbeat(self) -> None:
        """Tell the server this point is alive and, in a meeting, how its media link is
        (docs/operations.md: the server's health monitor reads it when it has no figures
        of its own)."""
        if self.http is None:
            return
        figures = None
        for session in list(self.sessions.values()):
            figures = await session.link_figures()
            if figures is not None:
                break
        try:
            await self.http.post(
                "/api/points/me/heartbeat",
                json={"link_stats": figures} if figures is not None else {},
            )
        except httpx.HTTPError as exc:
            log.debug("heartbeat failed: %s", exc)

    async def ice_servers(self) -> list[RTCIceServer]:
        """STUN/TURN for the next peer connection (TURN credentials expire: asked each time);
        none if the server does not say (host candidates do on the province's network)."""
        if self.http is None:
            return []
        try:
            response = await self.http.get("/api/media/ice-servers")
            response.raise_for_status()
            entries = response.json()["ice_servers"]
            return [
                RTCIceServer(
                    urls=e["urls"], username=e.get("username"), credential=e.get("credential")
                )
                for e in entries
            ]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.debug("no ICE servers from the server: %s", exc)
            return []


class MeetingSession:
    """One meeting: the room socket (reconnected as needed) and its peer connection."""

    def __init__(self, agent: PointAgent, meeting: dict[str, Any]) -> None:
        self.agent = agent
        self.meeting_id: int = meeting["id"]
        self.title: str = meeting.get("title", "")
        self.label = f"meeting {self.meeting_id}"
        self.state = "connecting"  # connecting, lobby, in room, reconnecting
        self.last_seq: int | None = None
        self.you: dict[str, Any] | None = None
        self.floor: tuple[str, str] | None = None  # (key, name)
        self.roll_call: int | None = None  # the open roll call's number
        self._answered: int | None = None  # the last roll call this agent answered
        self.joins: list[str] = []  # "welcome" or "resumed", once per admission
        self.fps: dict[str, float] = {"main": 0.0, "floor": 0.0}
        self.slots: dict[str, Any] = {}  # who each received m-line shows (media layout)
        self.ws: ClientConnection | None = None
        self.media: MediaClient | None = None
        self._stop_sources: Callable[[], None] | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._refusal: dict[str, Any] | None = None  # an error frame not answering a command
        self._over: str | None = None
        self._media_backoff = Backoff()
        self._mark: tuple[MediaClient, float, int, int] | None = None
        self._link_mark: tuple[MediaClient, float, float, float] | None = None

    @property
    def key(self) -> str:
        return str(self.you["key"]) if self.you else ""

    # --- the connection loop ----------------------------------------------------------

    async def run(self) -> None:
        """Until the meeting is over (returns) or the token is refused (raises)."""
        backoff = Backoff()
        try:
            while True:
                try:
                    await self._connect(backoff)
                except MeetingOver as over:
                    log.info("%s: %s; leaving", self.label, over)
                    return
                except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
                    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                except ConnectionLost as exc:
                    reason = str(exc)
                finally:
                    await self._teardown()
                delay = backoff.next()
                self.state = "reconnecting"
                log.warning(
                    "%s: connection lost (%s); reconnecting in %.1f s", self.label, reason, delay
                )
                await asyncio.sleep(delay)
        finally:
            await self._teardown()

    async def _connect(self, backoff: Backoff) -> None:
        url = f"{self.agent.ws_base}/ws/meetings/{self.meeting_id}"
        if self.last_seq is not None:
            url += f"?resume_from={self.last_seq}"
        self._over = self._refusal = None
        try:
            ws = await connect(
                url,
                additional_headers={"Authorization": f"Bearer {self.agent.token}"},
                user_agent_header=self.agent.headers["User-Agent"],
                open_timeout=15,
                close_timeout=3,
                max_size=2**20,
            )
        except InvalidURI as exc:
            raise MeetingOver(f"bad address {url}: {exc}") from None
        async with ws:
            self.ws = ws
            self._spawn(self._pinger(ws))
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    try:
                        frame = json.loads(raw)
                    except (TypeError, ValueError):
                        log.warning("%s: a frame that is not JSON, ignored", self.label)
                        continue
                    if isinstance(frame, dict):
                        self._on_frame(frame, backoff)
        self._closed(ws.close_code, ws.close_reason or "")

    def _closed(self, code: int | None, reason: str) -> None:
        """Why the server closed the socket: the end of the meeting, or a reconnect."""
        error = self._refusal
        said = f"{error.get('code')}: {error.get('message')}" if error else reason or "no reason"
        if code == CLOSE_UNAUTHENTICATED:
            raise TokenRefused(f"the server refused the device token ({said})")
        if code == CLOSE_NOT_FOUND:
            raise MeetingOver(f"the meeting is not there ({said})")
        if code == CLOSE_FORBIDDEN and error and error.get("code") == "not_invited":
            raise MeetingOver("the point is no longer invited")
        if self._over:
            raise MeetingOver(self._over)
        raise ConnectionLost(f"closed {code}: {said}")

    async def _teardown(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        await self._drop_media()
        self.ws = None

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)

        def done(task: asyncio.Task[Any]) -> None:
            self._tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("%s: %r", self.label, task.exception(), exc_info=task.exception())

        task.add_done_callback(done)

    async def command(
        self, kind: str, within: float = REPLY_SECONDS, **fields: Any
    ) -> dict[str, Any]:
        """Send a command; its ack or error (TimeoutError after ``within`` seconds)."""
        ws = self.ws
        if ws is None:
            raise ConnectionLost("not connected")
        command_id = f"a{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        try:
            await ws.send(json.dumps({"type": kind, "id": command_id, **fields}))
            async with asyncio.timeout(within):
                return await future
        finally:
            self._pending.pop(command_id, None)

    async def _pinger(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.agent.ping_seconds)
            try:
                await self.command("ping", within=self.agent.ping_seconds)
            except ConnectionClosed:
                return
            except TimeoutError:
                log.warning("%s: no answer to a ping; reconnecting", self.label)
                ws.transport.abort()
                return

    # --- what the room says -----------------------------------------------------------

    def _on_frame(self, frame: dict[str, Any], backoff: Backoff) -> None:
        kind = frame.get("type")
        future = self._pending.get(frame.get("id") or "")
        if kind in ("ack", "error") and future is not None:
            if not future.done():
                future.set_result(frame)
        elif kind == "error" and not frame.get("id"):
            self._refusal = frame
            log.warning(
                "%s: the server says %s: %s", self.label, frame.get("code"), frame.get("message")
            )
        elif kind == "lobby":
            self._lobby(frame)
        elif kind == "welcome":
            backoff.reset()
            self._welcome(frame)
        elif kind == "resumed":
            backoff.reset()
            self._resumed(frame)
        elif kind == "event":
            self._event(frame)
        elif kind == "media":  # the media layout changed (docs/protocol.md)
            self.slots = frame.get("slots") or {}
            log.debug("%s: media layout %s", self.label, self.slots)

    def _lobby(self, frame: dict[str, Any]) -> None:
        status = frame.get("status")
        if status in OVER_STATUSES:
            self._over = f"the meeting is {status}"
            return
        if self.state != "lobby":
            log.info(
                "%s: in the lobby of %r (%s, starts %s) until the chair starts it",
                self.label,
                self.title,
                status,
                frame.get("starts_at"),
            )
        self.state = "lobby"

    def _welcome(self, frame: dict[str, Any]) -> None:
        self.you = frame["you"]
        snapshot = frame["snapshot"]
        self.last_seq = snapshot["seq"]
        self.state = "in room"
        self.joins.append("welcome")
        floor = snapshot.get("floor")
        self.floor = (floor["key"], floor.get("name") or floor["key"]) if floor else None
        log.info(
            "%s: joined %r as %s (%s), %s present; the floor: %s",
            self.label,
            self.title,
            self.you.get("name"),
            self.key,
            snapshot.get("member_count"),
            self._floor_text(),
        )
        if snapshot.get("closed"):
            self._over = "the meeting has ended"
            return
        roll_call = snapshot.get("roll_call")
        self.roll_call = roll_call["number"] if roll_call else None
        if roll_call is not None:
            log.info("%s: roll call %s is open", self.label, self.roll_call)
            if self.key not in (roll_call.get("answers") or {}):
                self._answer_roll_call()
        self._spawn(self._negotiate())

    def _resumed(self, frame: dict[str, Any]) -> None:
        self.you = frame["you"]
        self.state = "in room"
        self.joins.append("resumed")
        log.info(
            "%s: back in the room, resuming after event %s (%s events since)",
            self.label,
            frame.get("from_seq"),
            int(frame.get("to_seq", 0)) - int(frame.get("from_seq", 0)),
        )
        if self.roll_call is not None and self._answered != self.roll_call:
            self._answer_roll_call()  # an answer lost with the connection
        self._spawn(self._negotiate())

    def _event(self, frame: dict[str, Any]) -> None:
        seq = frame.get("seq")
        if isinstance(seq, int):
            self.last_seq = max(self.last_seq or 0, seq)
        name = frame.get("event")
        data: dict[str, Any] = frame.get("data") or {}
        mine = data.get("key") == self.key
        if name == "floor.granted":
            self.floor = (data["key"], data.get("name") or data["key"])
            seconds = data.get("seconds")
            log.info(
                "%s: the floor goes to %s%s%s",
                self.label,
                self._floor_text(),
                f" for {seconds} s" if seconds else "",
                " (this point)" if mine else "",
            )
        elif name == "floor.revoked":
            if self.floor and self.floor[0] == data.get("key"):
                log.info(
                    "%s: %s no longer has the floor (%s)",
                    self.label,
                    self._floor_text(),
                    data.get("reason"),
                )
                self.floor = None
        elif name == "roll_call.opened":
            self.roll_call = data.get("number")
            log.info("%s: roll call %s opened", self.label, self.roll_call)
            self._answer_roll_call()
        elif name == "roll_call.closed":
            self.roll_call = None
            log.info("%s: roll call closed", self.label)
        elif name == "roll_call.answered" and mine:
            log.info("%s: roll call answered: %s present", self.label, data.get("head_count"))
        elif name in ("member.muted", "member.unmuted") and mine:
            log.info("%s: %s by the chair", self.label, name.partition(".")[2])
        elif name in ("mute_all.on", "mute_all.off"):
            log.info("%s: mute all %s", self.label, name.partition(".")[2])
        elif name == "room.closed":
            self._over = "the meeting has ended"
        else:
            log.debug("%s: event %s %s", self.label, name, data)

    def _floor_text(self) -> str:
        if self.floor is None:
            return "nobody"
        key, name = self.floor
        return f"{name} ({key})"

    def _answer_roll_call(self) -> None:
        number = self.roll_call
        if self.agent.head_count is not None and number is not None:
            self._spawn(self._answer(number, self.agent.head_count))

    async def _answer(self, number: int, head_count: int) -> None:
        try:
            reply = await self.command("answer_roll_call", head_count=head_count)
        except (ConnectionClosed, ConnectionLost, TimeoutError):
            return  # answered again once back in the room, if the roll call is still open
        if reply["type"] == "ack":
            self._answered = number
        else:
            log.warning("%s: roll call answer refused: %s", self.label, reply.get("message"))

    # --- media ------------------------------------------------------------------------

    async def _negotiate(self) -> None:
        """A new peer connection and its offer: after each (re)admission, or a failed one."""
        await self._drop_media()
        ice_servers = await self.agent.ice_servers()
        video, audio, stop = self.agent.sources.open(self.key)
        media = MediaClient(video, audio, ice_servers=ice_servers)
        self.media, self._stop_sources = media, stop

        @media.pc.on("connectionstatechange")
        def changed() -> None:
            state = media.pc.connectionState
            if media is not self.media:
                return
            log.debug("%s: media %s", self.label, state)
            if state == "connected":
                self._media_backoff.reset()
            elif state == "failed":
                delay = self._media_backoff.next()
                log.warning(
                    "%s: the media connection failed; negotiating again in %.1f s",
                    self.label,
                    delay,
                )
                self._spawn(self._renegotiate(media, delay))

        try:
            reply = await self.command("offer", sdp=await media.offer())
        except (ConnectionClosed, ConnectionLost):
            return
        except TimeoutError:
            log.warning("%s: no answer to the media offer; reconnecting", self.label)
            if self.ws is not None:
                self.ws.transport.abort()
            return
        if reply["type"] != "ack":
            if reply.get("code") == "media_disabled":
                log.warning("%s: the server has no media plane: presence only", self.label)
            else:
                log.warning(
                    "%s: media refused (%s: %s)",
                    self.label,
                    reply.get("code"),
                    reply.get("message"),
                )
            await self._drop_media()
            return
        await media.accept(reply["answer"]["sdp"])
        self.slots = slots = reply.get("slots") or {}
        log.info(
            "%s: media negotiated, %s; main shows %s, floor %s",
            self.label,
            self.agent.sources.describe(),
            slots.get("main") or "nobody",
            slots.get("floor") or "nobody",
        )

    async def _renegotiate(self, failed: MediaClient, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.media is failed and self.ws is not None:
            await self._negotiate()

    async def _drop_media(self) -> None:
        media, stop = self.media, self._stop_sources
        self.media = self._stop_sources = None
        if media is not None:
            with contextlib.suppress(Exception):
                await media.close()
        if stop is not None:
            stop()

    # --- reporting --------------------------------------------------------------------

    async def link_figures(self) -> dict[str, float] | None:
        """The media link as the server names its figures: ``kbps_in`` is what this point
        sends (the server receives it), ``kbps_out`` what it receives; RTT and loss as the
        server reports them back in its receiver reports."""
        media = self.media
        if media is None or media.pc.connectionState != "connected":
            return None
        report = await media.pc.getStats()
        sent = received = 0.0
        rtt: list[float] = []
        lost: list[float] = []
        for s in report.values():
            if s.type == "transport":
                sent += s.bytesSent
                received += s.bytesReceived
            elif s.type == "remote-inbound-rtp":
                if s.roundTripTime is not None:
                    rtt.append(s.roundTripTime * 1000)
                if s.fractionLost is not None:  # RTCP's 8-bit fraction: 0..255
                    lost.append(s.fractionLost / 256 * 100)
        now = time.monotonic()
        previous, self._link_mark = self._link_mark, (media, now, sent, received)
        figures: dict[str, float] = {}
        if rtt:
            figures["rtt_ms"] = round(max(rtt), 1)
        if lost:
            figures["loss_pct"] = round(max(lost), 2)
        if previous is not None and previous[0] is media and now > previous[1]:
            seconds = now - previous[1]
            figures["kbps_in"] = round((sent - previous[2]) * 8 / 1000 / seconds, 1)
            figures["kbps_out"] = round((received - previous[3]) * 8 / 1000 / seconds, 1)
        return figures

    def report(self) -> None:
        """One line: what arrives (frames a second of the main and floor video)."""
        media = self.media
        if media is None:
            self.fps = {"main": 0.0, "floor": 0.0}
            log.info("%s: %s, no media", self.label, self.state)
            return
        now = time.monotonic()
        main = media.slots["main.video"].frames
        floor = media.slots["floor.video"].frames
        mark = self._mark
        if mark is not None and mark[0] is media:
            since, main_before, floor_before = mark[1], mark[2], mark[3]
        else:
            since, main_before, floor_before = media.started_at, 0, 0
        elapsed = max(now - since, 1e-3)
        self._mark = (media, now, main, floor)
        self.fps = {
            "main": (main - main_before) / elapsed,
            "floor": (floor - floor_before) / elapsed,
        }
        log.info(
            "%s: receiving main video %.1f fps (%s), floor video %.1f fps (%s)",
            self.label,
            self.fps["main"],
            self.slots.get("main") or "nobody",
            self.fps["floor"],
            self._floor_text(),
        )
