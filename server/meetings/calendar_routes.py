"""HTTP API of calendars: one meeting as .ics, and each user's or point's secret feed URL.

Calendar apps cannot sign in, so a feed is reached by a secret token in its URL (stored
only as a hash). Asking for a feed again replaces the token; the old URL stops working.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.auth import CurrentPrincipal
from server.db import utcnow
from server.deps import AppSettings, ReadDB, WriteDB
from server.identity import Principal, PrincipalKind, Role
from server.meetings import agenda, calendar, service
from server.meetings.models import CalendarFeed, Meeting
from server.meetings.schemas import CalendarFeedOut
from server.network.models import ConferencePoint
from server.problems import not_found
from server.settings import Settings
from server.tokens import new_calendar_token, token_hash
from server.validation import IdPath

router = APIRouter(tags=["calendar"])

ICS = "text/calendar; charset=utf-8"
# A feed shows meetings from this long ago onwards (and everything ahead).
FEED_HISTORY = timedelta(days=60)


def _base_url(request: Request, settings: Settings) -> str:
    return settings.public_url or str(request.base_url).rstrip("/")


async def _ics(
    db: AsyncSession,
    meetings: list[Meeting],
    name: str,
    request: Request,
    settings: Settings,
) -> Response:
    agendas = {m.id: await agenda.list_items(db, m.id) for m in meetings}
    base_url = _base_url(request, settings)
    body = calendar.render(
        meetings,
        agendas,
        name=name,
        zone=settings.timezone,
        domain=urlsplit(base_url).hostname or "hoinghi",
        base_url=base_url,
        now=utcnow(),
    )
    return Response(body, media_type=ICS, headers={"Cache-Control": "private, max-age=300"})


@router.get(
    "/api/meetings/{meeting_id}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
    summary="One meeting as iCalendar",
)
async def meeting_ics(
    meeting_id: IdPath,
    principal: CurrentPrincipal,
    db: ReadDB,
    request: Request,
    settings: AppSettings,
) -> Response:
    meeting = await service.get_meeting(db, meeting_id, principal)
    return await _ics(db, [meeting], meeting.title, request, settings)


@router.post(
    "/api/calendar/feed",
    response_model=CalendarFeedOut,
    status_code=201,
    summary="A new secret calendar URL for me (the old one stops working)",
)
async def new_feed(
    principal: CurrentPrincipal, db: WriteDB, request: Request, settings: AppSettings
) -> CalendarFeedOut:
    await db.execute(delete(CalendarFeed).where(_owned_by(principal)))
    token = new_calendar_token()
    owner = {"point_id": principal.id} if principal.is_point else {"user_id": principal.id}
    db.add(CalendarFeed(token_hash=token_hash(token), **owner))
    await db.commit()
    return CalendarFeedOut(url=f"{_base_url(request, settings)}/api/calendar/{token}.ics")


@router.delete("/api/calendar/feed", status_code=204, summary="Stop my calendar URL")
async def delete_feed(principal: CurrentPrincipal, db: WriteDB) -> Response:
    await db.execute(delete(CalendarFeed).where(_owned_by(principal)))
    await db.commit()
    return Response(status_code=204)


def _owned_by(principal: Principal):  # type: ignore[no-untyped-def]
    if principal.is_point:
        return CalendarFeed.point_id == principal.id
    return CalendarFeed.user_id == principal.id


@router.get(
    "/api/calendar/{token}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
    summary="A calendar feed (no sign-in: the token in the URL is the key)",
)
async def feed(token: str, db: ReadDB, request: Request, settings: AppSettings) -> Response:
    row = (
        await db.execute(select(CalendarFeed).where(CalendarFeed.token_hash == token_hash(token)))
    ).scalar_one_or_none()
    principal = await _feed_owner(db, row) if row else None
    if principal is None:
        raise not_found("calendar feed")
    where = service.MeetingFilter(ends_after=utcnow() - FEED_HISTORY)
    meetings, _ = await service.list_meetings(db, principal, where, limit=1000, offset=0)
    return await _ics(db, meetings, f"hoinghi — {principal.name}", request, settings)


async def _feed_owner(db: AsyncSession, row: CalendarFeed) -> Principal | None:
    """The feed's owner as a principal, or None if they are disabled."""
    if row.user_id is not None:
        user = await db.get(User, row.user_id)
        if user is None or not user.active:
            return None
        return Principal(
            kind=PrincipalKind.USER,
            id=user.id,
            name=user.full_name,
            unit_id=user.unit_id,
            roles=frozenset(user.roles) - {Role.ADMIN},
        )
    point = await db.get(ConferencePoint, row.point_id)
    if point is None or not point.enabled:
        return None
    return Principal(kind=PrincipalKind.POINT, id=point.id, name=point.name, unit_id=point.unit_id)
