"""Who sees a meeting and who may change it.

- An admin sees every meeting.
- The meeting's chair, secretary and creator (its organizers) see it in every status and
  may change it.
- Invited points and people see it once it has been scheduled (published); so does the
  operator of a unit whose point is invited. A draft cancelled before it was ever
  scheduled stays unpublished.
- Users with the secretary or chair role see the province's normal (not confidential)
  meetings once published: they plan around them.
- Organizer powers need the role that goes with them: a meeting's secretary who loses the
  secretary role loses the powers too.
- Nobody else sees it: a hidden meeting answers 404, not 403, so its existence is not told.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from server.identity import Principal, Role
from server.meetings.lifecycle import MeetingActor
from server.meetings.models import Classification, Invitation, Meeting
from server.network.models import ConferencePoint

COORDINATOR_ROLES = frozenset({Role.SECRETARY, Role.CHAIR})


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """A filter on Meeting rows: those ``principal`` may see."""
    published = Meeting.published_at.is_not(None)
    if principal.is_point:
        invited = select(Invitation.meeting_id).where(Invitation.point_id == principal.id)
        return and_(published, Meeting.id.in_(invited))
    if Role.ADMIN in principal.roles:
        return true()
    clauses = [
        Meeting.chair_id == principal.id,
        Meeting.secretary_id == principal.id,
        Meeting.created_by_id == principal.id,
        and_(
            published,
            Meeting.id.in_(select(Invitation.meeting_id).where(Invitation.user_id == principal.id)),
        ),
    ]
    if Role.OPERATOR in principal.roles and principal.unit_id is not None:
        unit_points = select(ConferencePoint.id).where(ConferencePoint.unit_id == principal.unit_id)
        invited = select(Invitation.meeting_id).where(Invitation.point_id.in_(unit_points))
        clauses.append(and_(published, Meeting.id.in_(invited)))
    if principal.has_any(COORDINATOR_ROLES):
        clauses.append(and_(published, Meeting.classification == Classification.NORMAL))
    return or_(*clauses) if clauses else false()


def may_see(meeting: Meeting, principal: Principal, invited: bool) -> bool:
    """visible_to for one loaded meeting (without the operator rule, which needs a query)."""
    if principal.is_point:
        return invited and meeting.published_at is not None
    if Role.ADMIN in principal.roles or principal.id in (
        meeting.chair_id,
        meeting.secretary_id,
        meeting.created_by_id,
    ):
        return True
    if meeting.published_at is None:
        return False
    return invited or (
        principal.has_any(COORDINATOR_ROLES) and meeting.classification is Classification.NORMAL
    )


def is_organizer(meeting: Meeting, principal: Principal) -> bool:
    if principal.is_point:
        return False
    roles = principal.roles
    return (
        Role.ADMIN in roles
        or (principal.id == meeting.chair_id and Role.CHAIR in roles)
        or (
            principal.id in (meeting.secretary_id, meeting.created_by_id)
            and Role.SECRETARY in roles
        )
    )


def own_invitation(principal: Principal) -> ColumnElement[bool]:
    """A filter on Invitation rows: the principal's own (as a point or as a person)."""
    if principal.is_point:
        return Invitation.point_id == principal.id
    return Invitation.user_id == principal.id


def actor_for(meeting: Meeting, principal: Principal) -> MeetingActor:
    """How the principal stands to the meeting, for the lifecycle rules."""
    if principal.is_point:
        return MeetingActor()
    roles = principal.roles
    return MeetingActor(
        is_admin=Role.ADMIN in roles,
        is_chair=principal.id == meeting.chair_id and Role.CHAIR in roles,
        is_secretary=principal.id == meeting.secretary_id and Role.SECRETARY in roles,
        is_organizer=principal.id == meeting.created_by_id and Role.SECRETARY in roles,
    )
