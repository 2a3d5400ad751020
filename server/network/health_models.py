"""Points' health in the database: a bounded history of minute samples, alerts raised
during live meetings, and the self-tests points run before a meeting."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, utcnow


class PointSample(Base):
    """A point's state and link figures in one minute (kept for a day)."""

    __tablename__ = "point_samples"

    point_id: Mapped[int] = mapped_column(
        ForeignKey("conference_points.id", ondelete="CASCADE"), primary_key=True
    )
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    health: Mapped[str] = mapped_column(String(20))
    meeting_id: Mapped[int | None] = mapped_column(Integer)
    rtt_ms: Mapped[float | None] = mapped_column(Float)
    loss_pct: Mapped[float | None] = mapped_column(Float)
    jitter_ms: Mapped[float | None] = mapped_column(Float)
    kbps_in: Mapped[float | None] = mapped_column(Float)
    kbps_out: Mapped[float | None] = mapped_column(Float)
    fps_in: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)


class Alert(Base):
    """A point taking part in a live meeting went offline, degraded or silent; cleared when
    it is good again, or when the meeting ends."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # a server.network.health.Health value
    point_id: Mapped[int] = mapped_column(
        ForeignKey("conference_points.id", ondelete="CASCADE"), index=True
    )
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    detail: Mapped[str] = mapped_column(String(500), default="")
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class SelfTest(Base):
    """A point's own check of its camera, microphone and media path to the server."""

    __tablename__ = "point_self_tests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    point_id: Mapped[int] = mapped_column(
        ForeignKey("conference_points.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    camera: Mapped[bool] = mapped_column(Boolean)
    microphone: Mapped[bool] = mapped_column(Boolean)
    network: Mapped[bool] = mapped_column(Boolean)
    passed: Mapped[bool] = mapped_column(Boolean)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
