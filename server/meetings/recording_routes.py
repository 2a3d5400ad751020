"""HTTP API of a meeting's recordings: the list, and each file for playback or download."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import func, select
from starlette.responses import FileResponse

from agenda.blobs import BlobStore
from rooms.media.recorder import Finished
from rooms.models import RoomRecording
from server.auth import CurrentPrincipal
from server.db import Database
from server.deps import AppSettings, ReadDB
from server.meetings import service
from server.meetings.models import AgendaItem
from server.problems import Problem
from server.settings import Settings
from server.validation import IdPath

router = APIRouter(prefix="/api/meetings", tags=["recordings"])


class RecordingOut(BaseModel):
    id: int
    number: int
    started_at: datetime
    ended_at: datetime
    seconds: float
    bytes: int
    url: str
    agenda_item_id: int | None
    agenda_item_title: str | None


def _out(row: RoomRecording, titles: dict[int, str]) -> RecordingOut:
    return RecordingOut(
        id=row.id,
        number=row.number,
        started_at=row.started_at,
        ended_at=row.ended_at,
        seconds=row.seconds,
        bytes=row.bytes,
        url=f"/api/meetings/{row.meeting_id}/recordings/{row.number}.webm",
        agenda_item_id=row.agenda_item_id,
        agenda_item_title=titles.get(row.agenda_item_id) if row.agenda_item_id else None,
    )


@router.get(
    "/{meeting_id}/recordings",
    response_model=list[RecordingOut],
    summary="The meeting's finished recordings (main and floor, WebM)",
)
async def list_recordings(
    meeting_id: IdPath, principal: CurrentPrincipal, db: ReadDB
) -> list[RecordingOut]:
    await service.get_meeting(db, meeting_id, principal)
    rows = await db.scalars(
        select(RoomRecording)
        .where(RoomRecording.meeting_id == meeting_id)
        .order_by(RoomRecording.number)
    )
    found = list(rows)
    items = await db.execute(
        select(AgendaItem.id, AgendaItem.title).where(AgendaItem.meeting_id == meeting_id)
    )
    titles = {row.id: row.title for row in items}
    return [_out(row, titles) for row in found]


@router.get(
    "/{meeting_id}/recordings/{number}.webm",
    response_class=FileResponse,
    responses={200: {"content": {"video/webm": {}}}},
    summary="One recording's file (supports byte ranges, for seeking in a player)",
)
async def recording_file(
    meeting_id: IdPath,
    number: IdPath,
    principal: CurrentPrincipal,
    db: ReadDB,
    settings: AppSettings,
) -> FileResponse:
    await service.get_meeting(db, meeting_id, principal)
    row = await db.scalar(
        select(RoomRecording).where(
            RoomRecording.meeting_id == meeting_id, RoomRecording.number == number
        )
    )
    path = settings.data_dir / row.file if row is not None else None
    if row is None or path is None or not path.is_file():
        raise Problem(404, "not_found", f"recording {number} of meeting {meeting_id} not found")
    headers = {"Cache-Control": "private, max-age=3600"}
    if row.sha256:
        headers["ETag"] = f'"{row.sha256}"'
    return FileResponse(
        path,
        media_type="video/webm",
        filename=f"hop-{meeting_id}-ghi-hinh-{number}.webm",
        headers=headers,
    )


def recording_listener(
    database: Database, settings: Settings
) -> Callable[[Finished], Awaitable[None]]:
    """What the media plane calls when a recording is finished: keep it in the blob store
    (a worker elsewhere writes to a shared directory; the file is moved from there) and
    list it."""
    blobs = BlobStore(settings.data_dir / "blobs")

    async def listed(done: Finished) -> None:
        # Listed in the order they finish, numbered per meeting (one room recording may be
        # several files, if everyone left and came back while it ran).
        async with database.writer() as db:
            last = await db.scalar(
                select(func.max(RoomRecording.number)).where(
                    RoomRecording.meeting_id == done.meeting_id
                )
            )
            stored = await asyncio.to_thread(blobs.take_file, done.path)
            db.add(
                RoomRecording(
                    meeting_id=done.meeting_id,
                    number=(last or 0) + 1,
                    file=str(stored.path.relative_to(settings.data_dir)),
                    sha256=stored.digest,
                    bytes=stored.size,
                    started_at=done.started_at,
                    ended_at=done.ended_at,
                    seconds=done.seconds,
                    agenda_item_id=done.agenda_item_id,
                )
            )
            await db.commit()

    return listed
