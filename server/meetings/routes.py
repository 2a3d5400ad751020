"""HTTP API of meetings: listing, scheduling, changing, lifecycle steps, agenda items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from server.auth import CurrentPrincipal, require_roles
from server.deps import ReadDB, WriteDB
from server.identity import Principal, Role
from server.meetings import agenda, service
from server.meetings.invitations import conflicts
from server.meetings.lifecycle import Action, MeetingStatus
from server.meetings.models import Meeting
from server.meetings.schemas import (
    AgendaItemCreate,
    AgendaItemOut,
    AgendaItemUpdate,
    AgendaOrder,
    MeetingCreate,
    MeetingOut,
    MeetingPage,
    MeetingUpdate,
    MeetingWithWarnings,
)
from server.validation import IdPath, IdQuery, Limit, Offset, SearchQuery, UtcDatetime

router = APIRouter(prefix="/api/meetings", tags=["meetings"])

Scheduler = Annotated[Principal, Depends(require_roles(Role.SECRETARY, Role.ADMIN))]


@router.get("", response_model=MeetingPage, summary="Meetings the caller may see")
async def list_meetings(
    principal: CurrentPrincipal,
    db: ReadDB,
    from_: Annotated[
        UtcDatetime | None, Query(alias="from", description="meetings ending after this")
    ] = None,
    to: Annotated[UtcDatetime | None, Query(description="meetings starting before this")] = None,
    status: MeetingStatus | None = None,
    point: IdQuery = None,
    q: SearchQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> MeetingPage:
    where = service.MeetingFilter(
        ends_after=from_, starts_before=to, status=status, point_id=point, q=q
    )
    meetings, total = await service.list_meetings(db, principal, where, limit, offset)
    return MeetingPage(items=await service.meeting_outs(db, meetings, principal), total=total)


@router.post("", response_model=MeetingOut, status_code=201, summary="Schedule a meeting (draft)")
async def create_meeting(body: MeetingCreate, principal: Scheduler, db: WriteDB) -> MeetingOut:
    meeting = await service.create_meeting(db, principal, body)
    await db.commit()
    return await service.meeting_out(db, meeting, principal)


@router.get("/{meeting_id}", response_model=MeetingOut, summary="One meeting")
async def get_meeting(meeting_id: IdPath, principal: CurrentPrincipal, db: ReadDB) -> MeetingOut:
    meeting = await service.get_meeting(db, meeting_id, principal)
    return await service.meeting_out(db, meeting, principal)


async def _with_warnings(
    db: WriteDB, meeting: Meeting, principal: Principal, check_conflicts: bool
) -> MeetingWithWarnings:
    warnings = (
        await conflicts(db, principal, meeting.id, meeting.starts_at, meeting.ends_at)
        if check_conflicts
        else []
    )
    return MeetingWithWarnings(
        meeting=await service.meeting_out(db, meeting, principal), warnings=warnings
    )


@router.patch(
    "/{meeting_id}",
    response_model=MeetingWithWarnings,
    summary="Change a meeting; a new time reports the invited points' conflicts",
)
async def update_meeting(
    meeting_id: IdPath, body: MeetingUpdate, principal: CurrentPrincipal, db: WriteDB
) -> MeetingWithWarnings:
    meeting = await service.get_meeting(db, meeting_id, principal, for_update=True)
    rescheduled = await service.update_meeting(db, principal, meeting, body)
    await db.commit()
    return await _with_warnings(db, meeting, principal, rescheduled)


def _lifecycle_route(action: Action, summary: str) -> None:
    async def step(
        meeting_id: IdPath, principal: CurrentPrincipal, db: WriteDB, request: Request
    ) -> MeetingWithWarnings:
        meeting = await service.get_meeting(db, meeting_id, principal, for_update=True)
        await service.apply_action(db, principal, meeting, action)
        await db.commit()
        # After the commit: the room and the lobby follow the meeting's new status.
        await request.app.state.hub.meeting_status_changed(meeting.id, meeting.status.value)
        return await _with_warnings(db, meeting, principal, action is Action.SCHEDULE)

    step.__name__ = f"{action.value}_meeting"
    router.add_api_route(
        f"/{{meeting_id}}/{action.value}",
        step,
        methods=["POST"],
        response_model=MeetingWithWarnings,
        summary=summary,
    )


_lifecycle_route(Action.SCHEDULE, "draft -> scheduled (secretary, creator or admin)")
_lifecycle_route(Action.START, "scheduled -> live (the chair or the secretary)")
_lifecycle_route(Action.END, "live -> ended (the chair or the secretary)")
_lifecycle_route(Action.CLOSE, "ended -> closed (needs approved minutes; admin until then)")
_lifecycle_route(Action.CANCEL, "draft or scheduled -> cancelled (secretary, creator or admin)")


@router.get("/{meeting_id}/agenda", response_model=list[AgendaItemOut], summary="Agenda items")
async def list_agenda(
    meeting_id: IdPath, principal: CurrentPrincipal, db: ReadDB
) -> list[AgendaItemOut]:
    meeting = await service.get_meeting(db, meeting_id, principal)
    return [agenda.item_out(i) for i in await agenda.list_items(db, meeting.id)]


@router.post(
    "/{meeting_id}/agenda",
    response_model=AgendaItemOut,
    status_code=201,
    summary="Add an agenda item at the end",
)
async def add_agenda_item(
    meeting_id: IdPath, body: AgendaItemCreate, principal: CurrentPrincipal, db: WriteDB
) -> AgendaItemOut:
    meeting = await service.get_meeting(db, meeting_id, principal, for_update=True)
    item = await agenda.add_item(db, principal, meeting, body)
    await db.commit()
    return agenda.item_out(item)


@router.put(
    "/{meeting_id}/agenda/order",
    response_model=list[AgendaItemOut],
    summary="Put the agenda items in this order",
)
async def reorder_agenda(
    meeting_id: IdPath, body: AgendaOrder, principal: CurrentPrincipal, db: WriteDB
) -> list[AgendaItemOut]:
    meeting = await service.get_meeting(db, meeting_id, principal, for_update=True)
    items = await agenda.reorder(db, principal, meeting, body.item_ids)
    await db.commit()
    return [agenda.item_out(i) for i in items]


@router.patch(
    "/{meeting_id}/agenda/{item_id}", response_model=AgendaItemOut, summary="Change an item"
)
async def update_agenda_item(
    meeting_id: IdPath,
    item_id: IdPath,
    body: AgendaItemUpdate,
    principal: CurrentPrincipal,
    db: WriteDB,
) -> AgendaItemOut:
    meeting = await service.get_meeting(db, meeting_id, principal, for_update=True)
    item = await agenda.update_item(db, principal, meeting, item_id, body)
    await db.commit()
    return agenda.item_out(item)


@router.delete("/{meeting_id}/agenda/{item_id}", status_code=204, summary="Remove an item")
async def delete_agenda_item(
    meeting_id: IdPath, item_id: IdPath, principal: CurrentPrincipal, db: WriteDB
) -> Response:
    meeting = await service.get_meeting(db, meeting_id, principal, for_update=True)
    await agenda.delete_item(db, principal, meeting, item_id)
    await db.commit()
    return Response(status_code=204)
