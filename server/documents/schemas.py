"""Request and response bodies of the documents API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from agenda.models import Scope
from server.validation import DbId, Title


class VersionOut(BaseModel):
    number: int
    pages: int
    bytes: int
    sha256: str
    filename: str
    uploaded_at: datetime
    uploaded_by_id: int | None


class ReaderRef(BaseModel):
    kind: str  # "point" or "user"
    id: int
    name: str


class DocumentOut(BaseModel):
    id: int
    meeting_id: int
    title: str
    agenda_item_id: int | None
    position: int
    scope: Scope
    current_version: int
    pages: int
    versions: list[VersionOut]
    readers: list[ReaderRef] | None = Field(
        None, description="named readers (organizers only, scope 'named')"
    )
    download_url: str
    pages_url: str  # append {n}.webp


class DocumentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    agenda_item_id: int | None = Field(None, ge=1, le=2**31 - 1)
    scope: Scope | None = None


class DocumentOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_ids: list[DbId] = Field(max_length=1000)


class AccessUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Ids a database column holds: 2**63 used to reach SQLite's driver and fail (500).
    point_ids: list[DbId] = Field(default_factory=list, max_length=5000)
    user_ids: list[DbId] = Field(default_factory=list, max_length=5000)


class SearchHit(BaseModel):
    document_id: int
    title: str
    version: int
    page: int
    snippet: str


class ReceiptCell(BaseModel):
    document_id: int
    shared: bool  # the recipient may read the document (named readers: only those named)
    version: int | None  # the newest version the recipient has, if any
    current: bool
    first_at: datetime | None
    last_at: datetime | None


class ReceiptRow(BaseModel):
    kind: str  # "point" or "user"
    id: int
    name: str
    unit: str
    missing: int  # documents shared with the recipient whose current version it lacks
    cells: list[ReceiptCell]


class ReceiptDocument(BaseModel):
    id: int
    title: str
    current_version: int


class ReceiptMatrix(BaseModel):
    documents: list[ReceiptDocument]
    rows: list[ReceiptRow]


class TraceOut(BaseModel):
    identifier: str
    meeting_id: int
    document_id: int | None
    version: int | None
    pack: bool
    recipient: ReaderRef
    label: str
    issued_at: datetime
