"""Meetings, their invitations and agenda items, and calendar feed tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.accounts.models import User
from server.db import Base, UTCDateTime, enum_column, utcnow
from server.meetings.lifecycle import MeetingStatus
from server.network.models import ConferencePoint, Unit
from server.textfold import fold


class Classification(enum.StrEnum):
    NORMAL = "normal"
    CONFIDENTIAL = "confidential"


class InvitationState(enum.StrEnum):
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ATTENDED = "attended"


class Meeting(Base):
    __tablename__ = "meetings"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    # fold(title), kept by _fill_search_key; searched with LIKE.
    search_key: Mapped[str] = mapped_column(Text, default="")
    host_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    chair_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    secretary_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[MeetingStatus] = mapped_column(
        enum_column(MeetingStatus, "meeting_status"), default=MeetingStatus.DRAFT, index=True
    )
    classification: Mapped[Classification] = mapped_column(
        enum_column(Classification, "classification"), default=Classification.NORMAL
    )
    # What passes a motion put to the vote in this meeting's room (rooms.polls.Rule), unless
    # the chair names another rule when opening the poll.
    vote_rule: Mapped[str] = mapped_column(
        String(32), default="majority_of_eligible", server_default="majority_of_eligible"
    )
    # iCalendar SEQUENCE: raised on every change a calendar must pick up (time, cancel).
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    # When it was first scheduled: invitees see a meeting from then on (even if it is later
    # cancelled), never while it is a draft.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    host_unit: Mapped[Unit] = relationship(lazy="joined")
    chair: Mapped[User] = relationship(foreign_keys=[chair_id], lazy="joined")
    secretary: Mapped[User] = relationship(foreign_keys=[secretary_id], lazy="joined")


@event.listens_for(Meeting, "before_insert")
@event.listens_for(Meeting, "before_update")
def _fill_search_key(_mapper: object, _connection: object, meeting: Meeting) -> None:
    meeting.search_key = fold(meeting.title)


class Invitation(Base):
    """A conference point or a person invited to a meeting, and their answer."""

    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint("(point_id IS NULL) <> (user_id IS NULL)", name="one_invitee"),
        UniqueConstraint("meeting_id", "point_id", name="uq_invitations_meeting_point"),
        UniqueConstraint("meeting_id", "user_id", name="uq_invitations_meeting_user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    point_id: Mapped[int | None] = mapped_column(ForeignKey("conference_points.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[InvitationState] = mapped_column(
        enum_column(InvitationState, "invitation_state"), default=InvitationState.INVITED
    )
    note: Mapped[str] = mapped_column(String(500), default="")
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    point: Mapped[ConferencePoint | None] = relationship(lazy="joined")
    user: Mapped[User | None] = relationship(lazy="joined")


class AgendaItem(Base):
    __tablename__ = "agenda_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    # Who presents: a name as it should read in the minutes, and the account if they have one.
    presenter_name: Mapped[str] = mapped_column(String(200), default="")
    presenter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    planned_minutes: Mapped[int] = mapped_column(Integer, default=15)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CalendarFeed(Base):
    """A secret URL serving one user's or point's meetings to calendar apps."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (CheckConstraint("(user_id IS NULL) <> (point_id IS NULL)", name="one_owner"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    point_id: Mapped[int | None] = mapped_column(
        ForeignKey("conference_points.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
