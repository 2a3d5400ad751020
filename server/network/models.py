"""Units (province, departments, communes, wards, special zones) and conference points."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, enum_column, utcnow
from server.textfold import fold


class UnitKind(enum.StrEnum):
    PROVINCE = "province"
    DEPARTMENT = "department"
    COMMUNE = "commune"
    WARD = "ward"
    SPECIAL_ZONE = "special_zone"


class Unit(Base):
    """An administrative unit; commune-level units hang under the province."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # fold(name), kept by _fill_search_keys; searched with LIKE.
    search_key: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind, "unit_kind"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # Only for building trees in code; queries walk parent_id (lazy loads are off in async).
    parent: Mapped[Unit | None] = relationship(remote_side=[id], lazy="raise")


class ConferencePoint(Base):
    """A fixed conference room terminal (kiosk or agent) that joins meetings as itself."""

    __tablename__ = "conference_points"
    __table_args__ = (UniqueConstraint("unit_id", "name", name="uq_conference_points_unit_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(300), default="")
    # fold(name + location), kept by _fill_search_keys; searched with LIKE.
    search_key: Mapped[str] = mapped_column(Text, default="")
    # sha256 of the device token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_rotated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The server's own measure of the point's media link (rooms/media), with "at" and
    # "meeting_id"; and what the point itself last reported with its heartbeat.
    last_link_stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reported_stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined")


@event.listens_for(Unit, "before_insert")
@event.listens_for(Unit, "before_update")
def _fill_unit_search_key(_mapper: Any, _connection: Any, unit: Unit) -> None:
    unit.search_key = fold(unit.name)


@event.listens_for(ConferencePoint, "before_insert")
@event.listens_for(ConferencePoint, "before_update")
def _fill_point_search_key(_mapper: Any, _connection: Any, point: ConferencePoint) -> None:
    point.search_key = fold(f"{point.name} {point.location or ''}")
