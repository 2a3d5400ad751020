"""Minutes of a meeting: their versions, the approval chain's steps, and prepared external
signatures waiting for the signer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agenda.approval import MinutesStatus
from server.db import Base, UTCDateTime, enum_column, utcnow


class Minutes(Base):
    """The approval workflow's state (agenda/approval.py), one row per meeting."""

    __tablename__ = "minutes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[MinutesStatus] = mapped_column(
        enum_column(MinutesStatus, "minutes_status"), default=MinutesStatus.DRAFT
    )
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    submitted_version: Mapped[int | None] = mapped_column(Integer)
    approvers: Mapped[list[int]] = mapped_column(JSON, default=list)
    signed: Mapped[int] = mapped_column(Integer, default=0)
    rejected_version: Mapped[int | None] = mapped_column(Integer)
    # The document as it stands: the frozen PDF at submission, then after each signature.
    current_pdf: Mapped[str | None] = mapped_column(String(64))
    final_pdf: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MinutesVersion(Base):
    __tablename__ = "minutes_versions"
    __table_args__ = (UniqueConstraint("minutes_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    minutes_id: Mapped[int] = mapped_column(
        ForeignKey("minutes.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The rendered PDF, frozen when the version is submitted (sha256 in the blob store).
    frozen_pdf: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApprovalStep(Base):
    """One approver's act on one submitted version: signed, or rejected with a comment."""

    __tablename__ = "minutes_approvals"
    __table_args__ = (UniqueConstraint("minutes_id", "version", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    minutes_id: Mapped[int] = mapped_column(
        ForeignKey("minutes.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str] = mapped_column(String(16))  # signed, rejected
    comment: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[str] = mapped_column(String(16), default="")  # server_key, external
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("signing_certificates.id"))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))  # the document after it
    # Every signature validated right after this one was embedded (agenda/verify.py).
    validation: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SigningSession(Base):
    """A document prepared for an external signature; expires unused."""

    __tablename__ = "signing_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    minutes_id: Mapped[int] = mapped_column(
        ForeignKey("minutes.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    certificate_id: Mapped[int] = mapped_column(ForeignKey("signing_certificates.id"))
    to_sign: Mapped[bytes] = mapped_column(LargeBinary)
    document_digest: Mapped[bytes] = mapped_column(LargeBinary)
    reserved_start: Mapped[int] = mapped_column(Integer)
    reserved_end: Mapped[int] = mapped_column(Integer)
    prepared_pdf: Mapped[str] = mapped_column(String(64))  # sha256 in the blob store
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SigningCertificate(Base):
    """A leader's signing certificate; with the key encrypted under their signing PIN when
    the server holds the key, without it when the key stays with the leader."""

    __tablename__ = "signing_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    certificate_pem: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(500))
    issuer: Mapped[str] = mapped_column(String(500))
    serial: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    encrypted_key_pem: Mapped[str | None] = mapped_column(Text)
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrustAnchor(Base):
    """A CA certificate the province trusts for signatures (the government chain)."""

    __tablename__ = "trust_anchors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_pem: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    root: Mapped[bool] = mapped_column(default=True)  # false: an intermediate
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
