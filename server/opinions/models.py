"""Written opinions in the database: the request, its recipients with their answers, the
documents sent with it, and the reminders already sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.accounts.models import User
from server.db import Base, UTCDateTime, utcnow
from server.network.models import ConferencePoint


class OpinionRequest(Base):
    __tablename__ = "opinion_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    question: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # None: a draft, seen only by the office until sent (its documents are being attached).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id], lazy="joined")


class OpinionRecipient(Base):
    """One addressee (a conference point or a person) and their answer, once given.

    A point's answer may come from the point's own terminal or from an official of the
    point's unit; ``answered_by_name`` says who."""

    __tablename__ = "opinion_recipients"
    __table_args__ = (
        CheckConstraint("(point_id IS NULL) <> (user_id IS NULL)", name="one_recipient"),
        UniqueConstraint("request_id", "point_id", name="uq_opinion_recipients_point"),
        UniqueConstraint("request_id", "user_id", name="uq_opinion_recipients_user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("opinion_requests.id", ondelete="CASCADE"), index=True
    )
    point_id: Mapped[int | None] = mapped_column(
        ForeignKey("conference_points.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    option: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_by_name: Mapped[str] = mapped_column(String(200), default="")
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    point: Mapped[ConferencePoint | None] = relationship(lazy="joined")
    user: Mapped[User | None] = relationship(foreign_keys=[user_id], lazy="joined")


class OpinionDocument(Base):
    """A PDF sent with the request (checked like agenda documents, kept in the blob store)."""

    __tablename__ = "opinion_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("opinion_requests.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
    pages: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpinionReminder(Base):
    """A reminder (lead time in hours before the deadline) sent to a recipient, as reported
    by whoever sent it (the messaging gateway that reads the reminders API)."""

    __tablename__ = "opinion_reminders"
    __table_args__ = (
        UniqueConstraint("recipient_id", "lead_hours", name="uq_opinion_reminders_lead"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("opinion_recipients.id", ondelete="CASCADE"), index=True
    )
    lead_hours: Mapped[int] = mapped_column(Integer)
    via: Mapped[str] = mapped_column(String(40))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
