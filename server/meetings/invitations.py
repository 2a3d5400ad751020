"""Inviting points and people to a meeting, their answers, and schedule conflicts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.accounts.models import User
from server.accounts.schemas import normalize_username
from server.db import utcnow
from server.identity import Principal
from server.meetings import access
from server.meetings.lifecycle import OPEN_STATUSES, MeetingStatus
from server.meetings.models import Invitation, InvitationState, Meeting
from server.meetings.schemas import (
    Addressees,
    Conflict,
    InvitationOut,
    InviteRequest,
    PointBrief,
)
from server.meetings.service import require_organizer, require_status
from server.network.models import ConferencePoint, Unit
from server.network.service import unit_and_descendants, unit_ref
from server.problems import Problem, not_found


def invitation_out(invitation: Invitation) -> InvitationOut:
    if invitation.point is not None:
        return InvitationOut(
            id=invitation.id,
            kind="point",
            point_id=invitation.point_id,
            user_id=None,
            name=invitation.point.name,
            unit=unit_ref(invitation.point.unit),
            state=invitation.state,
            note=invitation.note,
            invited_at=invitation.invited_at,
            answered_at=invitation.answered_at,
        )
    assert invitation.user is not None
    return InvitationOut(
        id=invitation.id,
        kind="user",
        point_id=None,
        user_id=invitation.user_id,
        name=invitation.user.full_name,
        unit=unit_ref(invitation.user.unit) if invitation.user.unit else None,
        state=invitation.state,
        note=invitation.note,
        invited_at=invitation.invited_at,
        answered_at=invitation.answered_at,
    )


async def list_invitations(db: AsyncSession, meeting: Meeting) -> list[Invitation]:
    rows = await db.execute(
        select(Invitation)
        .outerjoin(ConferencePoint, ConferencePoint.id == Invitation.point_id)
        .outerjoin(Unit, Unit.id == ConferencePoint.unit_id)
        .where(Invitation.meeting_id == meeting.id)
        .order_by(Invitation.point_id.is_(None), Unit.name, Invitation.id)
    )
    return list(rows.unique().scalars().all())


async def conflicts(
    db: AsyncSession,
    principal: Principal,
    meeting_id: int,
    starts_at: datetime,
    ends_at: datetime,
    point_ids: Iterable[int] | None = None,
) -> list[Conflict]:
    """Other meetings overlapping [starts_at, ends_at) that the same points are invited to.

    ``point_ids`` defaults to every point invited to ``meeting_id``. Touching meetings (one
    ends when the other starts) do not conflict.
    """
    ours: Any
    if point_ids is None:
        ours = select(Invitation.point_id).where(
            Invitation.meeting_id == meeting_id, Invitation.point_id.is_not(None)
        )
    else:
        ours = list(point_ids)
        if not ours:
            return []
    rows = (
        (
            await db.execute(
                select(ConferencePoint.id, ConferencePoint.name, Meeting)
                .join(Invitation, Invitation.point_id == ConferencePoint.id)
                .join(Meeting, Meeting.id == Invitation.meeting_id)
                .where(
                    ConferencePoint.id.in_(ours),
                    Meeting.id != meeting_id,
                    Meeting.status.in_(OPEN_STATUSES),
                    Meeting.starts_at < ends_at,
                    Meeting.ends_at > starts_at,
                )
                .order_by(Meeting.starts_at, Meeting.id, ConferencePoint.name)
            )
        )
        .unique()
        .all()
    )
    others = {meeting.id for _, _, meeting in rows}
    visible = set(
        (
            await db.execute(
                select(Meeting.id).where(Meeting.id.in_(others), access.visible_to(principal))
            )
        ).scalars()
    )
    grouped: dict[int, Conflict] = {}
    for point_id, point_name, meeting in rows:
        shown = meeting.id in visible
        conflict = grouped.setdefault(
            meeting.id,
            Conflict(
                meeting_id=meeting.id if shown else None,
                meeting_title=meeting.title if shown else None,
                starts_at=meeting.starts_at,
                ends_at=meeting.ends_at,
                points=[],
            ),
        )
        conflict.points.append(PointBrief(id=point_id, name=point_name))
    return list(grouped.values())


def _refuse(field: str, items: list[tuple[int, str]]) -> None:
    """422 naming every bad entry of a list field, if any."""
    if items:
        errors = [{"field": f"{field}[{i}]", "message": message} for i, message in items]
        raise Problem(422, "validation_failed", errors[0]["message"], errors=errors)


async def resolve_points(db: AsyncSession, request: Addressees) -> set[int]:
    """The enabled points named, and every enabled point of the units named and below."""
    wanted: set[int] = set()
    if request.point_ids:
        enabled = dict(
            (
                await db.execute(
                    select(ConferencePoint.id, ConferencePoint.enabled).where(
                        ConferencePoint.id.in_(request.point_ids)
                    )
                )
            ).all()
        )
        _refuse(
            "point_ids",
            [
                (
                    i,
                    f"no conference point {pid}"
                    if pid not in enabled
                    else f"point {pid} is disabled",
                )
                for i, pid in enumerate(request.point_ids)
                if not enabled.get(pid)
            ],
        )
        wanted |= set(enabled)
    unit_ids = list(dict.fromkeys(request.unit_ids))
    if unit_ids:
        known = set((await db.execute(select(Unit.id).where(Unit.id.in_(unit_ids)))).scalars())
        _refuse(
            "unit_ids",
            [(i, f"no unit {u}") for i, u in enumerate(request.unit_ids) if u not in known],
        )
        units = await unit_and_descendants(db, *unit_ids)
        wanted |= set(
            (
                await db.execute(
                    select(ConferencePoint.id).where(
                        ConferencePoint.unit_id.in_(units), ConferencePoint.enabled.is_(True)
                    )
                )
            ).scalars()
        )
    return wanted


async def resolve_users(db: AsyncSession, usernames: list[str]) -> set[int]:
    """The ids of active accounts by username (422 naming any unknown or disabled)."""
    if not usernames:
        return set()
    names = [normalize_username(n) for n in usernames]
    rows = await db.execute(
        select(User.username, User.id, User.active).where(User.username.in_(names))
    )
    found = {name: (user_id, active) for name, user_id, active in rows.all()}
    _refuse(
        "usernames",
        [
            (i, f"no user {name!r}" if name not in found else f"user {name!r} is disabled")
            for i, name in enumerate(names)
            if not found.get(name, (0, False))[1]
        ],
    )
    return {found[name][0] for name in names}


async def invite(
    db: AsyncSession, principal: Principal, meeting: Meeting, request: InviteRequest
) -> tuple[list[Invitation], int, list[Conflict]]:
    """Invite; returns (new invitations, how many were invited already, conflicts)."""
    require_organizer(meeting, principal)
    require_status(meeting, OPEN_STATUSES, "invite")
    point_ids = await resolve_points(db, request)
    user_ids = await resolve_users(db, request.usernames)

    existing = (
        await db.execute(
            select(Invitation.point_id, Invitation.user_id).where(
                Invitation.meeting_id == meeting.id
            )
        )
    ).all()
    have_points = {p for p, _ in existing if p is not None}
    have_users = {u for _, u in existing if u is not None}
    new_points = sorted(point_ids - have_points)
    new_users = sorted(user_ids - have_users)
    already = len(point_ids & have_points) + len(user_ids & have_users)

    added = [Invitation(meeting_id=meeting.id, point_id=p) for p in new_points]
    added += [Invitation(meeting_id=meeting.id, user_id=u) for u in new_users]
    db.add_all(added)
    await db.flush()
    if added:
        await audit.record(
            db,
            principal,
            "meeting.invite",
            "meeting",
            meeting.id,
            meeting_id=meeting.id,
            after={"point_ids": new_points, "user_ids": new_users},
        )
    ids = [i.id for i in added]
    fresh: list[Invitation] = []
    if ids:
        query = select(Invitation).where(Invitation.id.in_(ids))
        fresh = list((await db.execute(query)).unique().scalars())
    warnings = await conflicts(
        db, principal, meeting.id, meeting.starts_at, meeting.ends_at, new_points
    )
    return sorted(fresh, key=lambda i: i.id), already, warnings


async def remove_invitation(
    db: AsyncSession, principal: Principal, meeting: Meeting, invitation_id: int
) -> str:
    """Withdraw an invitation; returns the invitee's room key ("p:12", "u:3")."""
    require_organizer(meeting, principal)
    require_status(meeting, OPEN_STATUSES, "remove an invitation")
    invitation = await db.get(Invitation, invitation_id)
    if invitation is None or invitation.meeting_id != meeting.id:
        raise not_found(f"invitation {invitation_id}")
    before = {"point_id": invitation.point_id, "user_id": invitation.user_id}
    key = f"p:{invitation.point_id}" if invitation.point_id else f"u:{invitation.user_id}"
    await db.delete(invitation)
    await db.flush()
    await audit.record(
        db,
        principal,
        "meeting.uninvite",
        "invitation",
        invitation_id,
        meeting_id=meeting.id,
        before=before,
    )
    return key


async def own_invitation(db: AsyncSession, principal: Principal, meeting: Meeting) -> Invitation:
    mine = access.own_invitation(principal)
    invitation = (
        (await db.execute(select(Invitation).where(Invitation.meeting_id == meeting.id, mine)))
        .unique()
        .scalar_one_or_none()
    )
    if invitation is None:
        raise not_found("your invitation to this meeting")
    return invitation


ANSWERABLE = frozenset({MeetingStatus.SCHEDULED, MeetingStatus.LIVE})


async def answer(
    db: AsyncSession,
    principal: Principal,
    meeting: Meeting,
    state: InvitationState,
    note: str,
) -> Invitation:
    invitation = await own_invitation(db, principal, meeting)
    require_status(meeting, ANSWERABLE, "answer the invitation")
    if invitation.state is InvitationState.ATTENDED:
        raise Problem(409, "already_attended", "the invitation is already marked attended")
    before = {"state": invitation.state, "note": invitation.note}
    invitation.state = state
    invitation.note = note
    invitation.answered_at = utcnow()
    await db.flush()
    await audit.record(
        db,
        principal,
        "invitation.answer",
        "invitation",
        invitation.id,
        meeting_id=meeting.id,
        before=before,
        after={"state": state, "note": note},
    )
    return invitation


async def state_counts(db: AsyncSession, meeting: Meeting) -> dict[InvitationState, int]:
    rows = await db.execute(
        select(Invitation.state, func.count())
        .where(Invitation.meeting_id == meeting.id)
        .group_by(Invitation.state)
    )
    counts = {state: 0 for state in InvitationState}
    counts.update({state: count for state, count in rows.all()})
    return counts
