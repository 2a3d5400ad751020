"""HTTP API of the points' health: every point's state now, one point's history, alerts,
a meeting's readiness, and the self-tests points run."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from server.auth import CurrentPrincipal, PointPrincipal, require_roles
from server.db import utcnow
from server.deps import AppSettings, ReadDB, WriteDB
from server.identity import Principal, Role
from server.meetings import access
from server.meetings import service as meetings
from server.meetings.models import Invitation, Meeting
from server.network.health import Health, readiness
from server.network.health_models import Alert, PointSample, SelfTest
from server.network.health_monitor import HealthMonitor, PointHealth
from server.network.models import ConferencePoint
from server.network.schemas import StatName, StatValue
from server.problems import Problem, not_found
from server.validation import IdPath, IdQuery, Limit

router = APIRouter(prefix="/api", tags=["health"])
ALERT_READERS = frozenset({Role.ADMIN, Role.SECRETARY, Role.CHAIR, Role.OPERATOR})

Staff = Annotated[
    Principal, Depends(require_roles(Role.ADMIN, Role.SECRETARY, Role.CHAIR, Role.OPERATOR))
]


def get_health(request: Request) -> HealthMonitor:
    monitor: HealthMonitor = request.app.state.health
    return monitor


AppHealth = Annotated[HealthMonitor, Depends(get_health)]


class PointHealthOut(BaseModel):
    id: int
    name: str
    health: Health
    reasons: list[str]
    meeting_id: int | None
    link: dict[str, Any] | None
    last_seen_at: datetime | None


class NetworkHealth(BaseModel):
    checked_at: datetime | None
    counts: dict[str, int] = Field(description="points per state")
    points: list[PointHealthOut]


class SampleOut(BaseModel):
    minute: datetime
    health: str
    meeting_id: int | None
    rtt_ms: float | None
    loss_pct: float | None
    jitter_ms: float | None
    kbps_in: float | None
    kbps_out: float | None
    fps_in: float | None
    width: int | None
    height: int | None


class PointHistory(BaseModel):
    current: PointHealthOut | None
    samples: list[SampleOut] = Field(description="one a minute, oldest first")


class AlertOut(BaseModel):
    id: int
    kind: str = Field(description="offline, left, degraded or silent")
    point_id: int
    point_name: str
    meeting_id: int
    meeting_title: str = Field(description="empty for a meeting the caller may not see")
    detail: str
    raised_at: datetime
    cleared_at: datetime | None


class SelfTestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    camera: bool
    microphone: bool
    network: bool = Field(description="the media path to the server worked (loopback)")
    figures: dict[StatName, StatValue] = Field(default={}, max_length=32)


class SelfTestOut(BaseModel):
    id: int
    point_id: int
    at: datetime
    camera: bool
    microphone: bool
    network: bool
    passed: bool
    figures: dict[str, Any]


class ReadinessRow(BaseModel):
    point_id: int
    name: str
    ready: bool
    reasons: list[str] = Field(
        description="offline, degraded, no_self_test, self_test_failed, self_test_old"
    )
    health: Health | None
    last_self_test: SelfTestOut | None


class Readiness(BaseModel):
    meeting_id: int
    starts_at: datetime
    opens_at: datetime = Field(description="from when the secretary is shown readiness")
    ready: int
    not_ready: int
    points: list[ReadinessRow]


def _point_out(state: PointHealth) -> PointHealthOut:
    return PointHealthOut(**state.json())


@router.get("/network/health", response_model=NetworkHealth, summary="Every point's health now")
async def network_health(principal: Staff, db: ReadDB, monitor: AppHealth) -> NetworkHealth:
    points = sorted(monitor.points.values(), key=lambda s: s.name)
    counts = {h.value: 0 for h in Health}
    for state in points:
        counts[state.health.value] += 1
    shown = [_point_out(s) for s in points]
    if not _watches_the_province(principal):
        # Which meeting a point is in says a meeting is on: only for meetings one may see.
        live = {p.meeting_id for p in points if p.meeting_id is not None}
        visible = set(
            await db.scalars(
                select(Meeting.id).where(Meeting.id.in_(live), access.visible_to(principal))
            )
        )
        for point in shown:
            if point.meeting_id not in visible:
                point.meeting_id = None
    return NetworkHealth(checked_at=monitor.checked_at, counts=counts, points=shown)


def _watches_the_province(principal: Principal) -> bool:
    """An admin, or an IT operator of the province (of no commune): sees every meeting's
    network state; others only the meetings they may see."""
    return Role.ADMIN in principal.roles or (
        Role.OPERATOR in principal.roles and principal.unit_id is None
    )


@router.get(
    "/points/{point_id}/health",
    response_model=PointHistory,
    summary="A point's health now and its history (one sample a minute, up to a day)",
)
async def point_health(
    point_id: IdPath,
    principal: CurrentPrincipal,
    db: ReadDB,
    monitor: AppHealth,
    hours: Annotated[float, Query(gt=0, le=24)] = 24,
) -> PointHistory:
    _staff_or_point(principal, point_id)
    if await db.get(ConferencePoint, point_id) is None:
        raise not_found(f"conference point {point_id}")
    rows = await db.scalars(
        select(PointSample)
        .where(
            PointSample.point_id == point_id,
            PointSample.minute >= utcnow() - timedelta(hours=hours),
        )
        .order_by(PointSample.minute)
    )
    state = monitor.points.get(point_id)
    return PointHistory(
        current=_point_out(state) if state else None,
        samples=[SampleOut.model_validate(r, from_attributes=True) for r in rows],
    )


def _staff_or_point(principal: Principal, point_id: int) -> None:
    if principal.is_point:
        if principal.id != point_id:
            raise Problem(403, "forbidden", "a point sees only its own health")
    elif not principal.has_any({Role.ADMIN, Role.SECRETARY, Role.CHAIR, Role.OPERATOR}):
        raise Problem(403, "forbidden", "only the staff who run meetings")


@router.get("/alerts", response_model=list[AlertOut], summary="Alerts of live meetings")
async def alerts(
    principal: CurrentPrincipal,
    db: ReadDB,
    active: bool = True,
    meeting_id: IdQuery = None,
    limit: Limit = 200,
) -> list[AlertOut]:
    """Alerts of the meetings the caller may see (a confidential meeting's only to its own
    people); the province's IT operators (an operator of no commune), who watch the whole
    network, see every alert, with the title of a meeting they may not see left out."""
    if not (principal.is_user and principal.has_any(ALERT_READERS)):
        raise Problem(403, "forbidden", "only the staff who run meetings and the network")
    visible = access.visible_to(principal)
    query = (
        select(Alert, ConferencePoint.name, Meeting.title, visible)
        .join(ConferencePoint, ConferencePoint.id == Alert.point_id)
        .join(Meeting, Meeting.id == Alert.meeting_id)
        .order_by(Alert.raised_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    if not _watches_the_province(principal):
        query = query.where(visible)
    if active:
        query = query.where(Alert.cleared_at.is_(None))
    if meeting_id is not None:
        query = query.where(Alert.meeting_id == meeting_id)
    rows = (await db.execute(query)).all()
    return [
        AlertOut(
            id=a.id,
            kind=a.kind,
            point_id=a.point_id,
            point_name=name,
            meeting_id=a.meeting_id,
            meeting_title=title if shown else "",
            detail=a.detail,
            raised_at=a.raised_at,
            cleared_at=a.cleared_at,
        )
        for a, name, title, shown in rows
    ]


def _self_test_out(row: SelfTest) -> SelfTestOut:
    return SelfTestOut.model_validate(row, from_attributes=True)


@router.post(
    "/points/me/self-test",
    response_model=SelfTestOut,
    status_code=201,
    summary="Record the calling point's self-test (camera, microphone, media path)",
)
async def record_self_test(body: SelfTestIn, principal: PointPrincipal, db: WriteDB) -> SelfTestOut:
    row = SelfTest(
        point_id=principal.id,
        at=utcnow(),
        camera=body.camera,
        microphone=body.microphone,
        network=body.network,
        passed=body.camera and body.microphone and body.network,
        figures=body.figures,
    )
    db.add(row)
    await db.commit()
    return _self_test_out(row)


@router.get(
    "/points/{point_id}/self-tests",
    response_model=list[SelfTestOut],
    summary="A point's self-tests, newest first",
)
async def self_tests(
    point_id: IdPath, principal: CurrentPrincipal, db: ReadDB, limit: Limit = 20
) -> list[SelfTestOut]:
    _staff_or_point(principal, point_id)
    rows = await db.scalars(
        select(SelfTest)
        .where(SelfTest.point_id == point_id)
        .order_by(SelfTest.at.desc(), SelfTest.id.desc())
        .limit(limit)
    )
    return [_self_test_out(r) for r in rows]


@router.get(
    "/meetings/{meeting_id}/readiness",
    response_model=Readiness,
    summary="Is each invited point ready: online, healthy, a recent passed self-test",
)
async def meeting_readiness(
    meeting_id: IdPath,
    principal: CurrentPrincipal,
    db: ReadDB,
    monitor: AppHealth,
    settings: AppSettings,
) -> Readiness:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    staff = principal.is_user and principal.has_any({Role.ADMIN, Role.OPERATOR})
    if not (staff or access.is_organizer(meeting, principal)):
        raise Problem(403, "forbidden", "only the meeting's organizers or the IT staff")
    invited = (
        await db.execute(
            select(ConferencePoint.id, ConferencePoint.name)
            .join(Invitation, Invitation.point_id == ConferencePoint.id)
            .where(Invitation.meeting_id == meeting_id)
            .order_by(ConferencePoint.name)
        )
    ).all()
    ids = [pid for pid, _ in invited]
    latest = (
        select(SelfTest.point_id, func.max(SelfTest.id).label("id"))
        .where(SelfTest.point_id.in_(ids))
        .group_by(SelfTest.point_id)
        .subquery()
    )
    tests = {
        t.point_id: t
        for t in await db.scalars(select(SelfTest).join(latest, latest.c.id == SelfTest.id))
    }
    now = utcnow()
    rows = []
    for pid, name in invited:
        state = monitor.points.get(pid)
        test = tests.get(pid)
        health = state.health if state else Health.OFFLINE
        ready, reasons = readiness(
            health, test.at if test else None, bool(test and test.passed), now
        )
        rows.append(
            ReadinessRow(
                point_id=pid,
                name=name,
                ready=ready,
                reasons=reasons,
                health=state.health if state else None,
                last_self_test=_self_test_out(test) if test else None,
            )
        )
    ready_count = sum(r.ready for r in rows)
    return Readiness(
        meeting_id=meeting.id,
        starts_at=meeting.starts_at,
        opens_at=meeting.starts_at - timedelta(minutes=settings.readiness_minutes),
        ready=ready_count,
        not_ready=len(rows) - ready_count,
        points=rows,
    )
