"""The durable log of every live meeting: one row per room event, numbered per meeting."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime


class RoomEvent(Base):
    __tablename__ = "room_events"

    # (meeting_id, seq) is the key: two processes that both think they own a room cannot
    # both write event n; the second one's insert fails and it stops serving the room.
    meeting_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(40))


class RoomRecording(Base):
    """A finished recording of a meeting's main and floor slots (rooms/media/recorder.py)."""

    __tablename__ = "room_recordings"
    __table_args__ = (UniqueConstraint("meeting_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(Integer, index=True)
    number: Mapped[int] = mapped_column(Integer)
    # Relative to the data directory: the blob store's file once it has been stored.
    file: Mapped[str] = mapped_column(String(500))
    # The content's digest in the blob store (none for recordings from before it).
    sha256: Mapped[str | None] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[float] = mapped_column(Float)
    # The agenda item the meeting was on when the recording started (no foreign key: the
    # recording outlives an item deleted later).
    agenda_item_id: Mapped[int | None] = mapped_column(Integer)


class SecretBallot(Base):
    """One ballot of a secret poll, in the ballot box: the choice and nothing else.

    Who voted is in the room's event log (``poll.voted`` without a choice); nothing here
    points to it: the key is random (not a counter that orders ballots), there is no time,
    and on SQLite the table has no rowid, so rows are kept in key order, not arrival
    order. docs/votes.md says what this does not protect against.
    """

    __tablename__ = "secret_ballots"
    __table_args__ = (
        Index("ix_secret_ballots_meeting_poll", "meeting_id", "poll"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    meeting_id: Mapped[int] = mapped_column(Integer)
    poll: Mapped[int] = mapped_column(Integer)
    option: Mapped[int] = mapped_column(Integer)
