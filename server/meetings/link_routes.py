"""What the media plane measures of each participant's link in a live meeting."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from rooms.media.plane import STATS_SECONDS, MediaPlane
from rooms.media.remote import RemoteMediaPlane
from server.auth import CurrentPrincipal
from server.deps import ReadDB
from server.meetings import service
from server.validation import IdPath

router = APIRouter(prefix="/api/meetings", tags=["media"])


@router.get(
    "/{meeting_id}/links",
    summary="Each participant's link to this server process: RTT, loss, jitter, bitrates, fps",
)
async def links(
    meeting_id: IdPath, principal: CurrentPrincipal, db: ReadDB, request: Request
) -> dict[str, Any]:
    meeting = await service.get_meeting(db, meeting_id, principal)
    service.require_organizer(meeting, principal)
    media: MediaPlane | RemoteMediaPlane | None = request.app.state.media
    figures = media.links.get(meeting_id, {}) if media is not None else {}
    return {"meeting_id": meeting_id, "interval_seconds": STATS_SECONDS, "links": figures}
