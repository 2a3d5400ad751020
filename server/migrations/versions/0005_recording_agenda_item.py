"""the agenda item a recording started on

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("room_recordings") as batch:
        batch.add_column(sa.Column("agenda_item_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("room_recordings") as batch:
        batch.drop_column("agenda_item_id")
