"""The live room's WebSocket: ``/ws/meetings/{meeting_id}``.

Authenticates the socket, checks the caller belongs in the meeting, holds it in the lobby
until the chair starts the meeting, then joins it to the room and turns each frame into a
room command. Every command is answered (ack or error) and the socket stays open whatever
the client sends, except for flooding (1008).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocketState

from agenda.models import Document, DocumentVersion, Scope
from rooms import messages
from rooms.connection import CLOSE_TOO_SLOW, Connection
from rooms.hub import Hub, Participant
from rooms.machine import Rejected, RoomCommand, ShowAgendaItem, ShowDocument
from rooms.media.plane import MediaPlane
from rooms.media.remote import RemoteMediaPlane
from rooms.media.room import MediaError
from rooms.ratelimit import TokenBucket
from rooms.room import RoomUnavailable
from rooms.state import Role as RoomRole
from server.admission import AdmissionCache
from server.auth import SESSION_COOKIE, socket_principal
from server.db import Database
from server.identity import Principal
from server.meetings import access
from server.meetings.lifecycle import MeetingStatus
from server.meetings.models import AgendaItem, Meeting
from server.metrics import SOCKETS
from server.presence import PresenceRecorder
from server.problems import Problem
from server.raw_socket import direct_writer
from server.settings import Settings

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_POLICY = 1008
CLOSE_TRY_AGAIN = 1013
RESUME_PATTERN = re.compile(r"[0-9]{1,10}")
# Before the client has said who it is, it may send one small frame.
MAX_AUTH_FRAME = 4096
LOBBY_RECHECK_SECONDS = 30.0
AUTH_TIMEOUT_SECONDS = 10.0
WRITER_FLUSH_SECONDS = 5.0
# Re-checking a socket costs a token lookup; spread over time (a join storm must not become
# a recheck storm a minute later), it is a few queries a second for 1,000 sockets.
RECHECK_SECONDS = 120.0


class Refused(Exception):
    def __init__(self, close_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.close_code = close_code
        self.code = code
        self.message = message


async def room_socket(websocket: WebSocket) -> None:
    meeting_id: int = websocket.path_params["meeting_id"]
    await websocket.accept()
    try:
        token = await _token(websocket)
        database: Database = websocket.app.state.db
        principal = await _principal(websocket, database, token)
        # Who is invited is cached for a join storm (server/admission.py): this session
        # mostly reads nothing.
        async with database.reader() as db:
            who, meeting = await _participant(websocket, db, meeting_id, principal)
    except Refused as refused:
        await _refuse(websocket, refused)
        return
    except WebSocketDisconnect:
        return
    presence: PresenceRecorder = websocket.app.state.presence
    if principal.is_point:
        presence.point_seen(principal.id)
    await RoomSession(websocket, meeting, principal, who, token).run()


def _error_frame(code: str, message: str, command_id: str | None = None) -> str:
    SOCKETS.errors[code] += 1
    return messages.error(code, message, command_id)


_COMMAND_ID = re.compile(r'"id"\s*:\s*"([^"\\]{1,64})"')


def _command_id(frame: str | bytes) -> str | None:
    """A refused frame's command id, looked for in its first 512 characters only."""
    head = frame[:512] if isinstance(frame, str) else frame[:512].decode("utf-8", "replace")
    found = _COMMAND_ID.search(head)
    return found.group(1) if found else None


def _counted_send(send: Callable[[str], Awaitable[None]]) -> Callable[[str], Awaitable[None]]:
    def counted(frame: str) -> Awaitable[None]:
        SOCKETS.sent += 1
        return send(frame)

    return counted


def _counted_writer(write: Callable[[bytes], bool] | None) -> Callable[[bytes], bool] | None:
    if write is None:
        return None

    def counted(frame: bytes) -> bool:
        if write(frame):
            SOCKETS.sent += 1
            return True
        return False

    return counted


async def _refuse(websocket: WebSocket, refused: Refused) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_text(_error_frame(refused.code, refused.message))
        await websocket.close(refused.close_code, refused.message[:120])


def _token_from_handshake(websocket: WebSocket, settings: Settings) -> str | None:
    if token := websocket.query_params.get("token"):
        return token
    authorization = websocket.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    cookie = websocket.cookies.get(SESSION_COOKIE)
    if cookie:
        # A page on another site may open a socket to us and the browser adds our cookie:
        # accept the cookie only from our own origin.
        origin = websocket.headers.get("origin")
        if origin is not None and not _same_origin(origin, websocket, settings):
            raise Refused(CLOSE_FORBIDDEN, "bad_origin", "cross-site socket refused")
        return cookie
    return None


def _same_origin(origin: str, websocket: WebSocket, settings: Settings) -> bool:
    allowed = {f"{websocket.url.scheme.replace('ws', 'http')}://{websocket.headers.get('host')}"}
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    return origin in allowed


async def _token(websocket: WebSocket) -> str:
    settings: Settings = websocket.app.state.settings
    token = _token_from_handshake(websocket, settings)
    if token is None:
        # Clients that cannot set headers send {"type": "auth", "token": ...} first.
        try:
            first = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_SECONDS)
            frame = json.loads(first) if len(first) <= MAX_AUTH_FRAME else None
            token = frame.get("token") if frame and frame.get("type") == "auth" else None
        # ValueError: not JSON, or an integer of more than 4,300 digits; RecursionError:
        # arrays nested a thousand deep. Either way, no token.
        except (TimeoutError, ValueError, RecursionError, AttributeError, KeyError):
            token = None
        if not isinstance(token, str) or not token:
            raise Refused(CLOSE_UNAUTHENTICATED, "not_authenticated", "send a token first")
    return token


async def _principal(websocket: WebSocket, database: Database, token: str) -> Principal:
    try:
        return await socket_principal(websocket, database, token)
    except Problem as problem:
        raise Refused(CLOSE_UNAUTHENTICATED, problem.code, problem.detail or "") from None


async def _participant(
    websocket: WebSocket, db: AsyncSession, meeting_id: int, principal: Principal
) -> tuple[Participant, Meeting]:
    admissions: AdmissionCache = websocket.app.state.admissions
    admission = await admissions.get(db, meeting_id)
    meeting = admission.meeting if admission else None
    if admission is None or meeting is None:
        raise Refused(CLOSE_NOT_FOUND, "not_found", f"meeting {meeting_id} not found")
    invited = principal.id in (admission.points if principal.is_point else admission.users)
    role = room_role(meeting, principal, invited)
    if role is None:
        # Refused: is the meeting one the caller may see (then say so), or hidden? The
        # operator rule needs a query; a refusal is rare enough to afford it.
        if access.may_see(meeting, principal, invited) or await db.scalar(
            select(Meeting.id).where(Meeting.id == meeting_id, access.visible_to(principal))
        ):
            raise Refused(CLOSE_FORBIDDEN, "not_invited", "you are not invited to this meeting")
        raise Refused(CLOSE_NOT_FOUND, "not_found", f"meeting {meeting_id} not found")
    kind = "point" if principal.is_point else "user"
    who = Participant(
        f"{kind[0]}:{principal.id}",
        kind,
        principal.id,
        principal.shown_name,
        role,
        principal.unit_id,
    )
    return who, meeting


def room_role(meeting: Meeting, principal: Principal, invited: bool) -> RoomRole | None:
    """The part the caller plays in the room, or None if they do not belong there."""
    published = meeting.published_at is not None
    if principal.is_point:
        return RoomRole.POINT if invited and published else None
    actor = access.actor_for(meeting, principal)
    if actor.is_chair:
        return RoomRole.CHAIR
    if actor.is_secretary or actor.is_organizer:
        return RoomRole.SECRETARY
    if actor.is_admin:
        return RoomRole.ADMIN
    return RoomRole.OFFICIAL if invited and published else None


class RoomSession:
    """One connected participant, from the lobby to the last frame."""

    def __init__(
        self,
        websocket: WebSocket,
        meeting: Meeting,
        principal: Principal,
        who: Participant,
        token: str,
    ) -> None:
        self.websocket = websocket
        self._token = token
        self.meeting_id = meeting_id = meeting.id
        self.meeting: Meeting | None = meeting  # as read at the handshake; re-read after
        self.principal = principal
        self.who = who
        self.hub: Hub = websocket.app.state.hub
        self.database: Database = websocket.app.state.db
        settings: Settings = websocket.app.state.settings
        self.bucket = TokenBucket(settings.ws_messages_per_second, settings.ws_burst)
        self.conn = Connection(
            self.hub.new_conn_id(),
            who.key,
            who.role,
            send=_counted_send(websocket.send_text),
            close=self._close,
            fetch=lambda after, upto: self.hub.store.since(meeting_id, after, upto),
            on_drop=self._dropped,
            write_now=_counted_writer(direct_writer(websocket.scope)),
            skip=lambda after, upto: self.hub.step_over(meeting_id, after, upto),
        )
        self.attached = False
        self._attach: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        resume = websocket.query_params.get("resume_from", "")
        self.resume_from = int(resume) if RESUME_PATTERN.fullmatch(resume) else None

    async def _close(self, code: int, reason: str) -> None:
        if self.websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self.websocket.close(code, reason[:120])

    def _dropped(self) -> None:
        # Too slow to keep up: leave the room now; the close frame may never get through.
        SOCKETS.drops += 1
        if self._reader is not None:
            self._reader.cancel()

    async def run(self) -> None:
        self.hub.register(self.meeting_id, self.conn, self.who)
        writer = asyncio.create_task(self.conn.run_writer(), name=f"writer-{self.conn.conn_id}")
        admit = asyncio.create_task(self._admit(), name=f"admit-{self.conn.conn_id}")
        recheck = asyncio.create_task(self._recheck(), name=f"recheck-{self.conn.conn_id}")
        self._reader = asyncio.create_task(self._read(), name=f"reader-{self.conn.conn_id}")
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        finally:
            self.hub.unregister(self.conn)
            recheck.cancel()
            admit.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await admit
            # A join already on its way is let finish, so that it can be undone: otherwise
            # the room would keep a member whose socket is gone.
            if self._attach is not None:
                with contextlib.suppress(Exception):
                    await self._attach
                    self.attached = True
            media: MediaPlane | RemoteMediaPlane | None = self.websocket.app.state.media
            if media is not None:
                with contextlib.suppress(Exception):
                    await media.leave(self.meeting_id, self.conn.conn_id)
            if self.attached:
                await self.hub.detach(self.meeting_id, self.conn, self.who)
            self.conn.stop()
            # The writer flushes what is queued (a closing error, say), unless the client
            # has stopped reading: then it is cut off.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer, WRITER_FLUSH_SECONDS)
            if not writer.done():
                writer.cancel()
            if self.conn.dropped:  # too slow: it may reconnect and resume from the log
                await self._close(CLOSE_TOO_SLOW, "too slow to keep up; reconnect to resume")
            else:
                await self._close(1000, "")

    async def _status(self, waiter: asyncio.Event) -> Meeting | None:
        # The handshake's read (possibly a few seconds old) is trusted only if it says live;
        # otherwise read again, after taking the waiter, so a start is never missed.
        if self.meeting is not None:
            meeting, self.meeting = self.meeting, None
            if meeting.status is MeetingStatus.LIVE:
                return meeting
        async with self.database.reader() as db:
            return await db.get(Meeting, self.meeting_id)

    async def _admit(self) -> None:
        """Wait in the lobby until the meeting is live, then join the room."""
        while True:
            waiter = self.hub.lobby_waiter(self.meeting_id)
            meeting = await self._status(waiter)
            if meeting is None:
                self.conn.finish("the meeting no longer exists")
                return
            if meeting.status is MeetingStatus.LIVE:
                break
            self.conn.control(
                messages.lobby(self.meeting_id, meeting.status.value, meeting.starts_at.isoformat())
            )
            if meeting.status not in (MeetingStatus.DRAFT, MeetingStatus.SCHEDULED):
                self.conn.finish(f"the meeting is {meeting.status.value}")
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(LOBBY_RECHECK_SECONDS):
                    await waiter.wait()
        self._mark_attended()
        self._attach = asyncio.create_task(
            self.hub.attach(self.meeting_id, self.conn, self.who, self.resume_from)
        )
        try:
            await asyncio.shield(self._attach)
        except Rejected as rejected:
            self._attach = None
            self.conn.control(_error_frame(rejected.code, rejected.message))
            self.conn.finish(rejected.message, CLOSE_POLICY)
            return
        except RoomUnavailable:
            self._attach = None
            self.conn.finish("the room is unavailable; reconnect", CLOSE_TRY_AGAIN)
            return
        self._attach = None
        self.attached = True

    async def _recheck(self) -> None:
        """Every so often, check the socket may still be here: a session can expire, a token
        be rotated (from the CLI too), an invitation be withdrawn, an account be disabled."""
        await asyncio.sleep(random.uniform(0.2, 1.0) * RECHECK_SECONDS)
        while True:
            try:
                principal = await _principal(self.websocket, self.database, self._token)
                async with self.database.reader() as db:
                    await _participant(self.websocket, db, self.meeting_id, principal)
            except Refused as refused:
                self.conn.control(_error_frame(refused.code, refused.message))
                self.conn.finish(refused.message, refused.close_code)
                return
            except Exception:  # a database blip is not a reason to throw people out
                log.warning("room %s: could not recheck %s", self.meeting_id, self.conn.conn_id)
            await asyncio.sleep(RECHECK_SECONDS)

    def _mark_attended(self) -> None:
        presence: PresenceRecorder = self.websocket.app.state.presence
        presence.attended(self.meeting_id, self.who.kind, self.principal.id)

    async def _read(self) -> None:
        while True:
            try:
                message = await self.websocket.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            frame = text if text is not None else message.get("bytes") or b""
            SOCKETS.received += 1
            if not self.bucket.allow(time.monotonic()):
                if self.bucket.flooding:
                    self.conn.control(_error_frame("flooding", "too many messages"))
                    self.conn.finish("too many messages", CLOSE_POLICY)
                    return
                # With the command's id (found without parsing the frame), so that the
                # client's wait for that command's answer ends.
                self.conn.control(_error_frame("rate_limited", "slow down", _command_id(frame)))
                continue
            try:
                await self._handle(frame)
            except Exception:
                log.exception("room %s: %s: command failed", self.meeting_id, self.conn.conn_id)
                await self._close(1011, "internal error")
                return

    async def _handle(self, frame: str | bytes) -> None:
        try:
            command = messages.decode_command(frame)
        except messages.ProtocolError as bad:
            self.conn.control(_error_frame(bad.code, bad.message, bad.command_id))
            return
        if not self.attached:
            if isinstance(command, messages.Ping):
                self.conn.control(messages.ack(command.id))
            else:
                self.conn.control(
                    _error_frame("room_not_open", "wait for the chair to start", command.id)
                )
            return
        if isinstance(command, messages.MediaCommand):
            await self._media(command)
            return
        room_command: RoomCommand = command
        if isinstance(command, messages.SetAgendaItem):
            found = await self._agenda_item(command)
            if found is None:
                return
            room_command = found
        elif isinstance(command, messages.Present):
            shown = await self._document(command)
            if shown is None:
                return
            room_command = shown
        elif isinstance(command, messages.OpenPoll) and command.rule is None:
            room_command = command.model_copy(update={"rule": await self._vote_rule()})
        try:
            outcome = await self.hub.submit(self.meeting_id, room_command, self.who.actor)
        except Rejected as rejected:
            self.conn.control(_error_frame(rejected.code, rejected.message, command.id))
            return
        except RoomUnavailable:
            self.conn.control(
                _error_frame("unavailable", "the room could not record that; retry", command.id)
            )
            return
        extra = {"ballot": outcome.ballot} if outcome.ballot else {}
        self.conn.control(
            messages.ack(command.id, outcome.seq if outcome.events else None, **extra)
        )

    async def _document(self, command: messages.Present) -> ShowDocument | None:
        """The document's current version, checked against this meeting's documents: every
        client then shows that version, even if a newer one is uploaded meanwhile."""
        async with self.database.reader() as db:
            document = await db.get(Document, command.document_id)
            version = None
            if document is not None and document.meeting_id == self.meeting_id:
                version = await db.scalar(
                    select(DocumentVersion)
                    .where(DocumentVersion.document_id == document.id)
                    .order_by(DocumentVersion.number.desc())
                    .limit(1)
                )
        if document is None or version is None:
            self.conn.control(
                _error_frame("not_found", "no such document in this meeting", command.id)
            )
            return None
        if document.scope is not Scope.INVITED:
            # The room shows it to everyone: a document for named readers only is not shown.
            self.conn.control(
                _error_frame("not_shared", "this document is for named readers only", command.id)
            )
            return None
        return ShowDocument(
            document.id, version.number, version.pages, document.title, command.page
        )

    async def _vote_rule(self) -> str:
        """The meeting's rule for what passes a motion (its settings may change until the
        meeting starts; read when the poll opens)."""
        async with self.database.reader() as db:
            rule = await db.scalar(select(Meeting.vote_rule).where(Meeting.id == self.meeting_id))
        return rule or "majority_of_eligible"

    async def _agenda_item(self, command: messages.SetAgendaItem) -> ShowAgendaItem | None:
        """The item, checked against this meeting's agenda (the room has no database)."""
        if command.item_id is None:
            return ShowAgendaItem(None)
        async with self.database.reader() as db:
            item = await db.get(AgendaItem, command.item_id)
        if item is None or item.meeting_id != self.meeting_id:
            self.conn.control(
                _error_frame("not_found", "no such item on this meeting's agenda", command.id)
            )
            return None
        return ShowAgendaItem(item.id, item.title)

    async def _media(self, command: messages.MediaCommand) -> None:
        """Signaling for the participant's peer connection: answered here, not by the room
        (nothing in it changes the room's state)."""
        media: MediaPlane | RemoteMediaPlane | None = self.websocket.app.state.media
        if media is None:
            self.conn.control(
                _error_frame("media_disabled", "this server has no media plane", command.id)
            )
            return
        conn_id = self.conn.conn_id
        try:
            if isinstance(command, messages.Offer):
                result = await media.offer(
                    self.meeting_id,
                    conn_id,
                    self.who.key,
                    self.who.role,
                    command.sdp,
                    notify=lambda slots: self.conn.control(messages.media_layout(slots)),
                )
            elif isinstance(command, messages.Candidate):
                await media.candidate(
                    self.meeting_id,
                    conn_id,
                    command.candidate,
                    command.sdpMid,
                    command.sdpMLineIndex,
                )
                result = {}
            else:
                result = {"slots": await media.thumbnails(self.meeting_id, conn_id, command.page)}
        except MediaError as refused:
            self.conn.control(_error_frame(refused.code, refused.message, command.id))
            return
        self.conn.control(messages.ack(command.id, **result))


# A plain Starlette route: FastAPI's dependency solving per socket is measurable in a join
# storm, and this endpoint has nothing to solve.
router = APIRouter(routes=[WebSocketRoute("/ws/meetings/{meeting_id:int}", room_socket)])
