"""Meetings: finding the ones a caller may see, creating, changing, lifecycle steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agenda.minutes_models import Minutes
from rooms.polls import Rule
from server import audit
from server.accounts.models import User
from server.db import count_rows, utcnow
from server.identity import Principal, Role
from server.meetings import access
from server.meetings.lifecycle import (
    PLANNING_STATUSES,
    Action,
    InvalidTransition,
    MeetingStatus,
    NotAllowed,
    transition,
)
from server.meetings.models import Invitation, InvitationState, Meeting
from server.meetings.schemas import MeetingCreate, MeetingOut, MeetingUpdate, UserRef
from server.network.models import Unit
from server.network.service import unit_ref
from server.problems import Problem, field_error, not_found
from server.textfold import like_pattern

# The fields of a meeting the audit trail shows before and after a change.
AUDITED = (
    "title",
    "description",
    "host_unit_id",
    "chair_id",
    "secretary_id",
    "starts_at",
    "ends_at",
    "classification",
    "vote_rule",
    "status",
)


def snapshot(meeting: Meeting) -> dict[str, Any]:
    return {name: getattr(meeting, name) for name in AUDITED}


async def get_meeting(
    db: AsyncSession, meeting_id: int, principal: Principal, *, for_update: bool = False
) -> Meeting:
    """The meeting if the principal may see it; 404 otherwise (hidden is the same as absent)."""
    query = select(Meeting).where(Meeting.id == meeting_id, access.visible_to(principal))
    if for_update:
        query = query.with_for_update(of=Meeting)
    meeting = (await db.execute(query)).unique().scalar_one_or_none()
    if meeting is None:
        raise not_found(f"meeting {meeting_id}")
    return meeting


def require_organizer(meeting: Meeting, principal: Principal) -> None:
    if not access.is_organizer(meeting, principal):
        raise Problem(
            403, "forbidden", "only the meeting's chair, secretary or creator, or an admin"
        )


def require_status(meeting: Meeting, allowed: frozenset[MeetingStatus], doing: str) -> None:
    if meeting.status not in allowed:
        raise Problem(
            409,
            "meeting_not_editable",
            f"cannot {doing} while the meeting is {meeting.status}",
            current_status=meeting.status.value,
        )


@dataclass(frozen=True)
class MeetingFilter:
    starts_before: datetime | None = None  # "to": meetings that start before this
    ends_after: datetime | None = None  # "from": meetings that end after this
    status: MeetingStatus | None = None
    point_id: int | None = None
    q: str | None = None


def _filtered(principal: Principal, where: MeetingFilter) -> Select[Meeting]:
    query = select(Meeting).where(access.visible_to(principal))
    if where.ends_after is not None:
        query = query.where(Meeting.ends_at > where.ends_after)
    if where.starts_before is not None:
        query = query.where(Meeting.starts_at < where.starts_before)
    if where.status is not None:
        query = query.where(Meeting.status == where.status)
    if where.point_id is not None:
        invited = select(Invitation.meeting_id).where(Invitation.point_id == where.point_id)
        query = query.where(Meeting.id.in_(invited))
    if where.q:
        query = query.where(Meeting.search_key.like(like_pattern(where.q), escape="\\"))
    return query


async def list_meetings(
    db: AsyncSession, principal: Principal, where: MeetingFilter, limit: int, offset: int
) -> tuple[list[Meeting], int]:
    query = _filtered(principal, where)
    total = await count_rows(db, query)
    page = await db.execute(
        query.order_by(Meeting.starts_at, Meeting.id).limit(limit).offset(offset)
    )
    return list(page.unique().scalars().all()), total


async def meeting_outs(
    db: AsyncSession, meetings: list[Meeting], principal: Principal
) -> list[MeetingOut]:
    """API views of meetings, with invitation counts and the caller's own standing."""
    ids = [m.id for m in meetings]
    counts: dict[tuple[int, str], int] = {}
    if ids:
        rows = await db.execute(
            select(
                Invitation.meeting_id,
                Invitation.point_id.is_not(None),
                func.count(),
            )
            .where(Invitation.meeting_id.in_(ids))
            .group_by(Invitation.meeting_id, Invitation.point_id.is_not(None))
        )
        for meeting_id, is_point, count in rows:
            counts[(meeting_id, "point" if is_point else "user")] = count
    mine: dict[int, InvitationState] = {}
    if ids:
        own_rows = await db.execute(
            select(Invitation.meeting_id, Invitation.state).where(
                Invitation.meeting_id.in_(ids), access.own_invitation(principal)
            )
        )
        mine = {meeting_id: state for meeting_id, state in own_rows.all()}
    return [
        _meeting_out(
            m,
            principal,
            invited_points=counts.get((m.id, "point"), 0),
            invited_users=counts.get((m.id, "user"), 0),
            mine=mine.get(m.id),
        )
        for m in meetings
    ]


def _user_ref(user: User) -> UserRef:
    return UserRef(id=user.id, username=user.username, full_name=user.full_name)


def allowed_actions(meeting: Meeting, principal: Principal) -> list[Action]:
    actor = access.actor_for(meeting, principal)
    allowed = []
    for action in Action:
        try:
            transition(meeting.status, action, actor)
        except (InvalidTransition, NotAllowed):
            continue
        allowed.append(action)
    return allowed


def _meeting_out(
    meeting: Meeting,
    principal: Principal,
    *,
    invited_points: int,
    invited_users: int,
    mine: InvitationState | None,
) -> MeetingOut:
    return MeetingOut(
        id=meeting.id,
        title=meeting.title,
        description=meeting.description,
        host_unit=unit_ref(meeting.host_unit),
        chair=_user_ref(meeting.chair),
        secretary=_user_ref(meeting.secretary),
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        status=meeting.status,
        classification=meeting.classification,
        vote_rule=Rule(meeting.vote_rule),
        sequence=meeting.sequence,
        started_at=meeting.started_at,
        ended_at=meeting.ended_at,
        invited_points=invited_points,
        invited_users=invited_users,
        my_invitation=mine,
        allowed_actions=allowed_actions(meeting, principal),
        can_edit=access.is_organizer(meeting, principal),
    )


async def meeting_out(db: AsyncSession, meeting: Meeting, principal: Principal) -> MeetingOut:
    return (await meeting_outs(db, [meeting], principal))[0]


async def _user_with_role(db: AsyncSession, user_id: int, role: Role, field: str) -> User:
    user = await db.get(User, user_id)
    if user is None or not user.active:
        raise field_error(field, f"no active user {user_id}")
    if role not in user.roles:
        raise field_error(field, f"user {user.username} does not have the {role} role")
    return user


async def _host_unit(db: AsyncSession, unit_id: int) -> Unit:
    unit = await db.get(Unit, unit_id)
    if unit is None:
        raise field_error("host_unit_id", f"no unit {unit_id}")
    return unit


async def create_meeting(db: AsyncSession, principal: Principal, body: MeetingCreate) -> Meeting:
    await _host_unit(db, body.host_unit_id)
    chair = await _user_with_role(db, body.chair_id, Role.CHAIR, "chair_id")
    if body.secretary_id is not None:
        secretary = await _user_with_role(db, body.secretary_id, Role.SECRETARY, "secretary_id")
    elif Role.SECRETARY in principal.roles:
        secretary = await _user_with_role(db, principal.id, Role.SECRETARY, "secretary_id")
    else:
        raise field_error("secretary_id", "name the meeting's secretary")
    meeting = Meeting(
        title=body.title,
        description=body.description,
        host_unit_id=body.host_unit_id,
        chair=chair,
        secretary=secretary,
        created_by_id=principal.id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        classification=body.classification,
        vote_rule=body.vote_rule.value,
        status=MeetingStatus.DRAFT,
    )
    db.add(meeting)
    await db.flush()
    await db.refresh(meeting, ["host_unit"])
    await audit.record(
        db,
        principal,
        "meeting.create",
        "meeting",
        meeting.id,
        meeting_id=meeting.id,
        after=snapshot(meeting),
    )
    return meeting


async def update_meeting(
    db: AsyncSession, principal: Principal, meeting: Meeting, body: MeetingUpdate
) -> bool:
    """Apply the changes; True if the time changed (calendars and conflicts must follow)."""
    require_organizer(meeting, principal)
    require_status(meeting, PLANNING_STATUSES, "change the meeting")
    changes = body.model_dump(exclude_unset=True)
    for required in ("title", "host_unit_id", "chair_id", "secretary_id", "starts_at", "ends_at"):
        if required in changes and changes[required] is None:
            raise field_error(required, "may not be null")
    starts = changes.get("starts_at", meeting.starts_at)
    ends = changes.get("ends_at", meeting.ends_at)
    if ends <= starts:
        raise field_error("ends_at", "must be after starts_at")
    before = snapshot(meeting)
    if "host_unit_id" in changes:
        meeting.host_unit = await _host_unit(db, changes["host_unit_id"])
    if "chair_id" in changes:
        meeting.chair = await _user_with_role(db, changes["chair_id"], Role.CHAIR, "chair_id")
    if "secretary_id" in changes:
        meeting.secretary = await _user_with_role(
            db, changes["secretary_id"], Role.SECRETARY, "secretary_id"
        )
    for name in ("title", "description", "classification", "vote_rule"):
        if name in changes and changes[name] is not None:
            setattr(meeting, name, changes[name])
    rescheduled = (starts, ends) != (meeting.starts_at, meeting.ends_at)
    meeting.starts_at, meeting.ends_at = starts, ends
    if rescheduled:
        meeting.sequence += 1
    await db.flush()
    old, new = audit.changes(before, snapshot(meeting))
    if new:
        await audit.record(
            db,
            principal,
            "meeting.update",
            "meeting",
            meeting.id,
            meeting_id=meeting.id,
            before=old,
            after=new,
        )
    return rescheduled


async def apply_action(
    db: AsyncSession, principal: Principal, meeting: Meeting, action: Action
) -> None:
    approved = action is Action.CLOSE and bool(
        await db.scalar(
            select(Minutes.id).where(
                Minutes.meeting_id == meeting.id, Minutes.final_pdf.is_not(None)
            )
        )
    )
    try:
        status = transition(
            meeting.status, action, access.actor_for(meeting, principal), minutes_approved=approved
        )
    except InvalidTransition as exc:
        raise Problem(409, "invalid_transition", str(exc), current_status=exc.status.value) from exc
    except NotAllowed as exc:
        raise Problem(403, "forbidden", str(exc)) from exc
    before = meeting.status
    meeting.status = status
    now = utcnow()
    if action is Action.SCHEDULE:
        meeting.published_at = meeting.published_at or now
    elif action is Action.START:
        meeting.started_at = now
    elif action is Action.END:
        meeting.ended_at = now
    elif action is Action.CANCEL:
        meeting.sequence += 1  # calendars show the cancellation
    await db.flush()
    await audit.record(
        db,
        principal,
        f"meeting.{action}",
        "meeting",
        meeting.id,
        meeting_id=meeting.id,
        before={"status": before},
        after={"status": status},
    )
