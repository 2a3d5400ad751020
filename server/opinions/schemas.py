"""Bodies and answers of the written-opinions API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from server.meetings.schemas import Addressees
from server.network.schemas import UnitRef
from server.opinions.rules import DEFAULT_OPTIONS, Phase
from server.validation import DbId, LongText, OneLine, Title, UtcDatetime

Option = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), OneLine
]
Comment = Annotated[LongText, StringConstraints(max_length=5000)]
Via = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), OneLine]


class OpinionCreate(BaseModel):
    """A question to points and people, answered by a deadline."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    question: Annotated[LongText, StringConstraints(min_length=1)]
    options: list[Option] = Field(default=list(DEFAULT_OPTIONS), min_length=2, max_length=10)
    deadline: UtcDatetime
    recipients: Addressees
    draft: bool = Field(
        default=False,
        description="keep it from the recipients until POST /api/opinions/{id}/send "
        "(attach its documents first)",
    )

    @field_validator("options")
    @classmethod
    def _distinct(cls, options: list[str]) -> list[str]:
        if len({o.casefold() for o in options}) != len(options):
            raise ValueError("options must differ from each other")
        return options


class DeadlineChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deadline: UtcDatetime


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    option: int = Field(ge=0, le=9, strict=True)
    comment: Comment = ""
    # Which recipient the caller answers for, when they may answer for several (their own
    # invitation and their unit's point); not needed otherwise.
    recipient_id: DbId | None = None


class DocumentFields(BaseModel):
    """The form fields beside the uploaded file."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None


class OpinionDocumentOut(BaseModel):
    id: int
    title: str
    filename: str
    bytes: int
    pages: int
    sha256: str
    uploaded_at: datetime


class RecipientOut(BaseModel):
    id: int
    kind: Literal["point", "user"]
    point_id: int | None
    user_id: int | None
    name: str
    unit: UnitRef | None
    option: int | None
    option_text: str | None
    comment: str
    answered_at: datetime | None
    answered_by: str
    first_seen_at: datetime | None
    reminders_sent: list[int] = Field(description="lead times (hours) already reminded")


class OpinionOut(BaseModel):
    id: int
    title: str
    question: str
    options: list[str]
    deadline: datetime
    created_at: datetime
    created_by: str
    sent_at: datetime | None
    closed_at: datetime | None
    phase: Phase
    manager: bool = Field(description="the caller may see every answer, close and export")
    documents: list[OpinionDocumentOut]
    mine: list[RecipientOut] = Field(description="the recipients the caller answers for")
    recipients: list[RecipientOut] | None = Field(description="every recipient (managers only)")
    count: dict[str, Any] | None = Field(description="answers per option (managers only)")


class OpinionSummary(BaseModel):
    id: int
    title: str
    deadline: datetime
    phase: Phase
    closed_at: datetime | None = Field(description="when it was closed before its deadline")
    created_by: str
    asked: int = Field(description="how many of its recipients the caller answers for")
    recipients: int | None = Field(description="how many were asked (managers only)")
    answered: int | None = Field(description="how many have answered (managers only)")
    to_answer: int = Field(description="of the caller's own, how many are still unanswered")
    reminder_hours: int | None = Field(
        description="a reminder is due for the caller: the lead time reached, in hours"
    )


class OpinionList(BaseModel):
    items: list[OpinionSummary]


class ReminderOut(BaseModel):
    request_id: int
    title: str
    deadline: datetime
    recipient_id: int
    kind: Literal["point", "user"]
    name: str
    username: str | None
    unit: UnitRef | None
    lead_hours: int
    hours_left: float


class ReminderList(BaseModel):
    items: list[ReminderOut]


class ReminderSent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient_id: DbId
    lead_hours: int = Field(ge=1, le=24 * 365)


class RemindersSent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ReminderSent] = Field(min_length=1, max_length=5000)
    via: Via = "gateway"


class RemindersRecorded(BaseModel):
    recorded: int
    already: int
