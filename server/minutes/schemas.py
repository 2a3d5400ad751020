"""Bodies and answers of the minutes, approval and certificate APIs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from server.validation import DbId


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MinutesCreate(Strict):
    sections: list[Section] | None = Field(None, max_length=500)
    decisions: list[Decision] | None = Field(None, max_length=500)


Line = Annotated[str, Field(max_length=2000)]
Text = Annotated[str, Field(max_length=100_000)]


class Section(Strict):
    heading: Line = ""
    text: Text = ""


class Decision(Strict):
    title: Line = ""
    result: Line = ""


class AgendaLine(Strict):
    position: int | str | None = None
    title: Line = ""
    presenter: Line | None = ""


class Attendance(Strict):
    points_present: list[Line] = Field(default_factory=list, max_length=5000)
    points_absent: list[Line] = Field(default_factory=list, max_length=5000)
    people: list[Line] = Field(default_factory=list, max_length=5000)


class MinutesContent(Strict):
    """What the minutes say: the fields the PDF lays out (unknown fields are refused)."""

    title: Line = ""
    meeting: dict[str, Line] = Field(default_factory=dict, max_length=20)
    attendance: Attendance = Field(default_factory=Attendance)
    agenda: list[AgendaLine] = Field(default_factory=list, max_length=500)
    decisions: list[Decision] = Field(default_factory=list, max_length=500)
    sections: list[Section] = Field(default_factory=list, max_length=500)


class VersionCreate(Strict):
    content: MinutesContent


class Submit(Strict):
    version: int = Field(ge=1)
    approvers: list[DbId] = Field(min_length=1, max_length=12)


class Approve(Strict):
    version: int = Field(ge=1)
    step: int = Field(ge=0, le=20)
    pin: str = Field(min_length=1, max_length=128)


class Reject(Strict):
    version: int = Field(ge=1)
    step: int = Field(ge=0, le=20)
    comment: str = Field(min_length=1, max_length=2000)


class Prepare(Strict):
    version: int = Field(ge=1)
    step: int = Field(ge=0, le=20)
    certificate_id: DbId | None = None


class Finish(Strict):
    session: str = Field(min_length=10, max_length=64)
    signature: str = Field(min_length=4, max_length=4096, description="base64")


class StepOut(BaseModel):
    version: int
    step: int
    approver_id: int
    approver_name: str
    outcome: str
    comment: str
    method: str
    at: datetime
    validation: list[dict[str, Any]] | None


class ApproverOut(BaseModel):
    id: int
    name: str
    signed: bool


class MinutesOut(BaseModel):
    id: int
    meeting_id: int
    status: str
    latest_version: int
    submitted_version: int | None
    approvers: list[ApproverOut]
    next_approver: int | None
    steps: list[StepOut]
    document_url: str | None
    document_pages: int | None  # pages of the document in approval (or final)
    final: bool


class VersionOut(BaseModel):
    number: int
    content: dict[str, Any]
    created_at: datetime
    frozen: bool


class PreparedOut(BaseModel):
    session: str
    to_sign: str  # base64 of the DER signed attributes
    summary: dict[str, Any]
    expires_at: datetime


class CertificateOut(BaseModel):
    id: int
    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    server_held: bool
    locked: bool
    active: bool
    pem_url: str


class CertificateImport(Strict):
    certificate_pem: str = Field(min_length=50, max_length=20_000)


class CertificateIssue(Strict):
    pin: str = Field(min_length=1, max_length=128)
    key_kind: str = Field("ec", pattern="^(ec|rsa)$")
    password: str | None = Field(None, max_length=1024, description="yours, when for yourself")


class AnchorOut(BaseModel):
    id: int
    subject: str
    fingerprint: str
    root: bool


class AwaitingOut(BaseModel):
    meeting_id: int
    title: str
    version: int
    step: int
    url: str


class PublicKeyRequest(Strict):
    public_key: str = Field(min_length=40, max_length=2000, description="base64 DER SPKI")
    password: str | None = Field(None, max_length=1024, description="yours, when for yourself")
