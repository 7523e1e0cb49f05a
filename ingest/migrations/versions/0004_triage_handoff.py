"""triage and hand-off: ticket tags, language, tier, assignee, SLA clock; cursors, breaches

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("category_source", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("language", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("tier", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("assignee", sa.String(length=120), nullable=True))
        for name in ("first_response_due_at", "resolution_due_at", "first_responded_at"):
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_tickets_assignee"), ["assignee"], unique=False)
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("tags", server_default=None)
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("assignee", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("decisions") as batch:
        batch.alter_column("tags", server_default=None)
    op.create_table(
        "team_cursors",
        sa.Column("team", sa.String(length=80), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team"),
    )
    op.create_table(
        "sla_breaches",
        sa.Column("id", BigId, nullable=False),
        sa.Column("ticket_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "kind"),
    )
    with op.batch_alter_table("sla_breaches") as batch:
        batch.create_index(batch.f("ix_sla_breaches_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_table("sla_breaches")
    op.drop_table("team_cursors")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("tags")
        batch.drop_column("assignee")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index(batch.f("ix_tickets_assignee"))
        for name in (
            "resolved_at",
            "first_responded_at",
            "resolution_due_at",
            "first_response_due_at",
            "assignee",
            "tier",
            "language",
            "tags",
            "category_source",
        ):
            batch.drop_column(name)
