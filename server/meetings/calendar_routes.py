"""HTTP API of calendars: one meeting as .ics, and each user's or point's secret feed URL.

Calendar apps cannot sign in, so a feed is reached by a secret token in its URL (stored
only as a hash). Asking for a feed again replaces the token; the old URL stops working.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.exc import IntegrityError
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


def _uid_domain(settings: Settings) -> str:
    # Fixed per deployment, never taken from the request: a meeting keeps one UID however
    # the server is reached, so calendars never hold it twice.
    return urlsplit(settings.public_url).hostname or "hoinghi"


async def _ics(
    db: AsyncSession, meetings: list[Meeting], name: str, settings: Settings, discreet: bool
) -> Response:
    body = calendar.render(
        meetings,
        await agenda.items_of(db, [m.id for m in meetings]),
        name=name,
        zone=settings.timezone,
        domain=_uid_domain(settings),
        now=utcnow(),
        discreet=discreet,
    )
    return Response(body, media_type=ICS, headers={"Cache-Control": "private, max-age=300"})


@router.get(
    "/api/meetings/{meeting_id}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
    summary="One meeting as iCalendar",
)
async def meeting_ics(
    meeting_id: IdPath, principal: CurrentPrincipal, db: ReadDB, settings: AppSettings
) -> Response:
    meeting = await service.get_meeting(db, meeting_id, principal)
    return await _ics(db, [meeting], meeting.title, settings, discreet=False)


def _owned_by(principal: Principal) -> ColumnElement[bool]:
    if principal.is_point:
        return CalendarFeed.point_id == principal.id
    return CalendarFeed.user_id == principal.id


@router.post(
    "/api/calendar/feed",
    response_model=CalendarFeedOut,
    status_code=201,
    summary="A new secret calendar URL for me (the old one stops working)",
)
async def new_feed(
    principal: CurrentPrincipal, db: WriteDB, request: Request, settings: AppSettings
) -> CalendarFeedOut:
    owner = {"point_id": principal.id} if principal.is_point else {"user_id": principal.id}
    for attempt in range(2):
        await db.execute(delete(CalendarFeed).where(_owned_by(principal)))
        token = new_calendar_token()
        db.add(CalendarFeed(token_hash=token_hash(token), **owner))
        try:
            await db.commit()
            break
        except IntegrityError:
            # A parallel request replaced the feed first: replace it again.
            await db.rollback()
            if attempt:
                raise
    base_url = settings.public_url or str(request.base_url).rstrip("/")
    return CalendarFeedOut(url=f"{base_url}/api/calendar/{token}.ics")


@router.delete("/api/calendar/feed", status_code=204, summary="Stop my calendar URL")
async def delete_feed(principal: CurrentPrincipal, db: WriteDB) -> Response:
    await db.execute(delete(CalendarFeed).where(_owned_by(principal)))
    await db.commit()
    return Response(status_code=204)


@router.get(
    "/api/calendar/{token}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
    summary="A calendar feed (no sign-in: the token in the URL is the key)",
)
async def feed(token: str, db: ReadDB, settings: AppSettings) -> Response:
    row = (
        await db.execute(select(CalendarFeed).where(CalendarFeed.token_hash == token_hash(token)))
    ).scalar_one_or_none()
    principal = await _feed_owner(db, row) if row else None
    if principal is None:
        raise not_found("calendar feed")
    where = service.MeetingFilter(ends_after=utcnow() - FEED_HISTORY)
    meetings, _ = await service.list_meetings(db, principal, where, limit=1000, offset=0)
    return await _ics(db, meetings, f"hoinghi — {principal.name}", settings, discreet=True)


async def _feed_owner(db: AsyncSession, row: CalendarFeed) -> Principal | None:
    """The feed's owner as a principal, or None if they are disabled.

    An admin's feed holds the meetings they take part in, not every meeting.
    """
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
