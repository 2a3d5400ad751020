"""API shapes of meetings, invitations, agenda items and calendar feeds."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rooms.polls import Rule
from server.meetings.lifecycle import Action, MeetingStatus
from server.meetings.models import Classification, InvitationState
from server.network.schemas import UnitRef
from server.validation import DbId, Handle, LongText, Note, PersonName, Title, UtcDatetime


class UserRef(BaseModel):
    id: int
    username: str
    full_name: str


class MeetingOut(BaseModel):
    id: int
    title: str
    description: str
    host_unit: UnitRef
    chair: UserRef
    secretary: UserRef
    starts_at: datetime
    ends_at: datetime
    status: MeetingStatus
    classification: Classification
    vote_rule: Rule
    sequence: int
    started_at: datetime | None
    ended_at: datetime | None
    invited_points: int
    invited_users: int
    my_invitation: InvitationState | None = Field(
        default=None, description="the caller's own invitation, if invited"
    )
    allowed_actions: list[Action] = Field(
        default=[], description="lifecycle actions the caller may take now"
    )
    can_edit: bool = False


class MeetingPage(BaseModel):
    items: list[MeetingOut]
    total: int


class PointBrief(BaseModel):
    id: int
    name: str


class Conflict(BaseModel):
    """Another meeting at an overlapping time to which some of the same points are invited.

    A meeting the caller may not see (confidential, or someone else's draft) is reported
    without its id and title: only that the points are busy then.
    """

    meeting_id: int | None
    meeting_title: str | None
    starts_at: datetime
    ends_at: datetime
    points: list[PointBrief]


class _Times(BaseModel):
    @model_validator(mode="after")
    def _ends_after_start(self) -> _Times:
        starts = getattr(self, "starts_at", None)
        ends = getattr(self, "ends_at", None)
        if starts is not None and ends is not None and ends <= starts:
            raise ValueError("ends_at must be after starts_at")
        return self


class MeetingCreate(_Times):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: LongText = ""
    host_unit_id: DbId
    chair_id: DbId = Field(description="a user with the chair role")
    secretary_id: DbId | None = Field(
        default=None, description="a user with the secretary role; default: the creator"
    )
    starts_at: UtcDatetime = Field(description="with a UTC offset, e.g. 2026-12-01T08:00:00+07:00")
    ends_at: UtcDatetime
    classification: Classification = Classification.NORMAL
    vote_rule: Rule = Field(
        default=Rule.MAJORITY_OF_ELIGIBLE,
        description="what passes a motion voted in the room, unless the poll names a rule",
    )


class MeetingUpdate(_Times):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: LongText | None = None
    host_unit_id: DbId | None = None
    chair_id: DbId | None = None
    secretary_id: DbId | None = None
    starts_at: UtcDatetime | None = None
    ends_at: UtcDatetime | None = None
    classification: Classification | None = None
    vote_rule: Rule | None = None


class MeetingWithWarnings(BaseModel):
    meeting: MeetingOut
    warnings: list[Conflict] = []


class Addressees(BaseModel):
    """Points and people to address (invite, ask for an opinion); any mix of the three."""

    model_config = ConfigDict(extra="forbid")

    point_ids: list[DbId] = Field(default=[], max_length=5000)
    unit_ids: list[DbId] = Field(
        default=[], max_length=500, description="every enabled point of these units and below"
    )
    usernames: list[Handle] = Field(default=[], max_length=1000)

    @model_validator(mode="after")
    def _not_empty(self) -> Addressees:
        if not (self.point_ids or self.unit_ids or self.usernames):
            raise ValueError("name at least one point_id, unit_id or username")
        return self


class InviteRequest(Addressees):
    """Who to invite, in one call."""


class InvitationOut(BaseModel):
    id: int
    kind: Literal["point", "user"]
    point_id: int | None
    user_id: int | None
    name: str
    unit: UnitRef | None
    state: InvitationState
    note: str
    invited_at: datetime
    answered_at: datetime | None


class InvitationList(BaseModel):
    items: list[InvitationOut]
    counts: dict[InvitationState, int]


class InviteResult(BaseModel):
    added: list[InvitationOut]
    already_invited: int
    warnings: list[Conflict]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal[InvitationState.ACCEPTED, InvitationState.DECLINED]
    note: Note = ""


class AgendaItemOut(BaseModel):
    id: int
    position: int
    title: str
    presenter_name: str
    presenter_id: int | None
    planned_minutes: int


class AgendaItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    presenter_name: PersonName = ""
    presenter_id: DbId | None = None
    planned_minutes: int = Field(default=15, ge=1, le=600)


class AgendaItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    presenter_name: PersonName | None = None
    presenter_id: DbId | None = None
    planned_minutes: int | None = Field(default=None, ge=1, le=600)


class AgendaOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_ids: list[DbId] = Field(max_length=500, description="every item of the meeting, in order")


class CalendarFeedOut(BaseModel):
    url: str = Field(description="secret: anyone with it sees your meetings; shown once")
