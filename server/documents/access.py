"""Who may read a meeting's documents.

- The meeting's organizers (chair, secretary, creator) and admins read every document.
- A document open to "invited" is read by the invited points and people, and by the
  operators of a unit whose point is invited (they run that point's terminal).
- A document open to "named" readers (the default in confidential meetings) is read only
  by the points and people named on it, besides the organizers.

Seeing a meeting (a coordinator planning around it) does not give its documents.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from agenda.models import Document, DocumentAccess, Scope
from server.identity import Principal, Role
from server.meetings.access import is_organizer
from server.meetings.models import Invitation, Meeting
from server.network.models import ConferencePoint


@dataclass(frozen=True)
class Reader:
    """How one principal stands to one meeting's documents."""

    principal: Principal
    organizer: bool
    invited: bool

    def may_read(self, document: Document, named: set[tuple[str, int]]) -> bool:
        if self.organizer:
            return True
        if document.scope is Scope.INVITED:
            return self.invited
        return (self.principal.kind.value, self.principal.id) in named


async def reader_of(db: AsyncSession, meeting: Meeting, principal: Principal) -> Reader:
    organizer = is_organizer(meeting, principal)
    if organizer:
        return Reader(principal, True, True)
    if principal.is_point:
        where = Invitation.point_id == principal.id
    elif Role.OPERATOR in principal.roles and principal.unit_id is not None:
        unit_points = select(ConferencePoint.id).where(ConferencePoint.unit_id == principal.unit_id)
        where = (Invitation.user_id == principal.id) | Invitation.point_id.in_(unit_points)
    else:
        where = Invitation.user_id == principal.id
    invited = bool(
        await db.scalar(select(exists().where(Invitation.meeting_id == meeting.id, where)))
    )
    return Reader(principal, False, invited)


async def named_readers(
    db: AsyncSession, document_ids: list[int]
) -> dict[int, set[tuple[str, int]]]:
    """For each document: the (kind, id) of the points and people named on it."""
    rows = await db.execute(
        select(DocumentAccess).where(DocumentAccess.document_id.in_(document_ids))
    )
    named: dict[int, set[tuple[str, int]]] = {i: set() for i in document_ids}
    for row in rows.scalars():
        key = ("point", row.point_id) if row.point_id is not None else ("user", row.user_id)
        named[row.document_id].add(key)  # type: ignore[arg-type]
    return named
