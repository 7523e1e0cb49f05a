"""web forms: refused submissions, shared rate buckets, follow-up link revocations

Revision ID: 0011
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "form_refusals",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("form", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("envelope", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inbound_id", BigId, sa.ForeignKey("inbound.id"), nullable=True),
    )
    op.create_index("ix_form_refusals_reason", "form_refusals", ["reason"])
    op.create_index("ix_form_refusals_created_at", "form_refusals", ["created_at"])
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(length=400), primary_key=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "follow_up_revocations",
        sa.Column("ticket_id", BigId, sa.ForeignKey("tickets.id"), primary_key=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("follow_up_revocations")
    op.drop_table("rate_buckets")
    op.drop_index("ix_form_refusals_created_at", table_name="form_refusals")
    op.drop_index("ix_form_refusals_reason", table_name="form_refusals")
    op.drop_table("form_refusals")
