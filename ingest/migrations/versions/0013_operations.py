"""operations: role heartbeats, refusal counts

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "role_heartbeats",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("instance", sa.String(length=160), nullable=False),
        sa.Column("serves", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("role", "instance"),
    )
    op.create_index("ix_role_heartbeats_beat_at", "role_heartbeats", ["beat_at"])
    op.create_table(
        "refusal_counts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("channel", "reason"),
    )


def downgrade() -> None:
    op.drop_table("refusal_counts")
    op.drop_index("ix_role_heartbeats_beat_at", table_name="role_heartbeats")
    op.drop_table("role_heartbeats")
