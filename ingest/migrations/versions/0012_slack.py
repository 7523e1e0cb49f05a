"""slack: revisions of inbound messages edited or deleted on their channel; messages by
the channel's own id

Revision ID: 0012
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "message_revisions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("message_id", BigId, sa.ForeignKey("messages.id"), nullable=False),
        sa.Column("inbound_id", BigId, sa.ForeignKey("inbound.id"), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("previous_text", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("inbound_id", name="uq_message_revisions_inbound_id"),
    )
    op.create_index("ix_message_revisions_message_id", "message_revisions", ["message_id"])
    op.create_index("ix_messages_channel_external_id", "messages", ["channel", "external_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_channel_external_id", table_name="messages")
    op.drop_index("ix_message_revisions_message_id", table_name="message_revisions")
    op.drop_table("message_revisions")
