"""room recordings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import server.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "room_recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(length=500), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("started_at", server.db.UTCDateTime(), nullable=False),
        sa.Column("ended_at", server.db.UTCDateTime(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_recordings")),
        sa.UniqueConstraint("meeting_id", "number", name=op.f("uq_room_recordings_meeting_id")),
    )
    op.create_index(
        op.f("ix_room_recordings_meeting_id"), "room_recordings", ["meeting_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_room_recordings_meeting_id"), table_name="room_recordings")
    op.drop_table("room_recordings")
