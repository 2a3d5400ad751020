"""HTTP API of a meeting's attendance report, from the room's event log (JSON or CSV)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy import select

from rooms.attendance import Presence, presences
from rooms.store import EventStore
from server.auth import CurrentPrincipal
from server.db import utcnow
from server.deps import AppDatabase, AppSettings, ReadDB
from server.meetings import service
from server.meetings.models import Invitation
from server.network.models import ConferencePoint
from server.validation import IdPath

router = APIRouter(prefix="/api/meetings", tags=["attendance"])


class Interval(BaseModel):
    joined_at: datetime
    left_at: datetime | None


class Attendee(BaseModel):
    key: str
    kind: str
    id: int
    name: str
    role: str
    intervals: list[Interval]
    minutes: float


class AbsentPoint(BaseModel):
    id: int
    name: str


class AttendanceReport(BaseModel):
    meeting_id: int
    room_closed_at: datetime | None
    attendees: list[Attendee]
    absent_points: list[AbsentPoint]


def _attendee(presence: Presence, until: datetime) -> Attendee:
    return Attendee(
        key=presence.key,
        kind=presence.kind,
        id=presence.id,
        name=presence.name,
        role=presence.role,
        intervals=[Interval(joined_at=a, left_at=b) for a, b in presence.intervals],
        minutes=round(presence.seconds(until) / 60, 1),
    )


@router.get(
    "/{meeting_id}/attendance",
    response_model=AttendanceReport,
    responses={200: {"content": {"text/csv": {}}}},
    summary="Who was in the room, when (JSON, or CSV with format=csv)",
)
async def attendance(
    meeting_id: IdPath,
    principal: CurrentPrincipal,
    db: ReadDB,
    database: AppDatabase,
    settings: AppSettings,
    format: Literal["json", "csv"] = "json",
) -> AttendanceReport | Response:
    meeting = await service.get_meeting(db, meeting_id, principal)
    service.require_organizer(meeting, principal)
    found, closed_at = presences(await EventStore(database).since(meeting_id, 0))
    until = closed_at or utcnow()
    attended = {p.id for p in found if p.kind == "point"}
    invited_points = (
        await db.execute(
            select(ConferencePoint.id, ConferencePoint.name)
            .join(Invitation, Invitation.point_id == ConferencePoint.id)
            .where(Invitation.meeting_id == meeting_id)
            .order_by(ConferencePoint.name)
        )
    ).all()
    report = AttendanceReport(
        meeting_id=meeting_id,
        room_closed_at=closed_at,
        attendees=[_attendee(p, until) for p in found],
        absent_points=[AbsentPoint(id=i, name=n) for i, n in invited_points if i not in attended],
    )
    if format == "json":
        return report
    return _csv(report, ZoneInfo(settings.timezone), meeting_id)


def _csv(report: AttendanceReport, zone: ZoneInfo, meeting_id: int) -> Response:
    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M:%S") if moment else ""

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Loại", "Mã", "Tên", "Vai trò", "Vào lúc", "Ra lúc", "Số phút"])
    for a in report.attendees:
        kind = "Điểm cầu" if a.kind == "point" else "Đại biểu"
        for interval in a.intervals:
            writer.writerow(
                [
                    kind,
                    a.id,
                    a.name,
                    a.role,
                    local(interval.joined_at),
                    local(interval.left_at),
                    a.minutes,
                ]
            )
    for absent in report.absent_points:
        writer.writerow(["Điểm cầu", absent.id, absent.name, "point", "vắng mặt", "", 0])
    # A byte-order mark, so spreadsheet programs read the Vietnamese as UTF-8.
    body = "\ufeff" + out.getvalue()
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="diem-danh-{meeting_id}.csv"'},
    )
