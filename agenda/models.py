"""Agenda documents: documents and their versions, page texts, who may read them, who has
received which version, and the watermarked copies issued to each recipient."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, enum_column, utcnow


class Scope(enum.StrEnum):
    INVITED = "invited"  # everyone who may see the meeting
    NAMED = "named"  # the organizers and the points and people named on the document


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    agenda_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("agenda_items.id", ondelete="SET NULL"), index=True
    )
    # Order among the documents of the same agenda item (or of none).
    position: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(300))
    scope: Mapped[Scope] = mapped_column(
        enum_column(Scope, "document_scope"), default=Scope.INVITED
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DocumentVersion(Base):
    """One uploaded file of a document; versions are never replaced, only added."""

    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    bytes: Mapped[int] = mapped_column(BigInteger)
    pages: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DocumentPage(Base):
    """The text of one page, and its folded form for search without diacritics."""

    __tablename__ = "document_pages"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text, default="")
    search_key: Mapped[str] = mapped_column(Text, default="")


class DocumentAccess(Base):
    """A point or a person named on a document whose scope is ``named``."""

    __tablename__ = "document_access"
    __table_args__ = (
        CheckConstraint("(point_id IS NULL) <> (user_id IS NULL)", name="one_reader"),
        UniqueConstraint("document_id", "point_id", name="uq_document_access_point"),
        UniqueConstraint("document_id", "user_id", name="uq_document_access_user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    point_id: Mapped[int | None] = mapped_column(
        ForeignKey("conference_points.id", ondelete="CASCADE")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class Receipt(Base):
    """A recipient has a version: first fetched (download, pack or page view), last opened."""

    __tablename__ = "document_receipts"
    __table_args__ = (
        CheckConstraint("(point_id IS NULL) <> (user_id IS NULL)", name="one_recipient"),
        UniqueConstraint("version_id", "point_id", name="uq_document_receipts_point"),
        UniqueConstraint("version_id", "user_id", name="uq_document_receipts_user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE"), index=True
    )
    point_id: Mapped[int | None] = mapped_column(
        ForeignKey("conference_points.id", ondelete="CASCADE")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_via: Mapped[str] = mapped_column(String(16))
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IssuedCopy(Base):
    """A watermarked copy given to one recipient: of a document version, or of the pack."""

    __tablename__ = "issued_copies"
    __table_args__ = (
        CheckConstraint("(point_id IS NULL) <> (user_id IS NULL)", name="one_recipient"),
        CheckConstraint("(version_id IS NULL) <> (pack_key IS NULL)", name="one_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Printed in the file's metadata; finds this row again from a leaked file.
    identifier: Mapped[str] = mapped_column(String(32), unique=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE"), index=True
    )
    # The agenda pack's content key (which versions, in which order, under which items).
    pack_key: Mapped[str | None] = mapped_column(String(64), index=True)
    point_id: Mapped[int | None] = mapped_column(
        ForeignKey("conference_points.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(400))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
