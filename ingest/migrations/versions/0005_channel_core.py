"""channel-neutral core: identity provenance, customer merges, message identity and conversation

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("merged_into_id", BigId, nullable=True))
        batch.create_foreign_key(
            "fk_customers_merged_into_id", "customers", ["merged_into_id"], ["id"]
        )
    with op.batch_alter_table("identities") as batch:
        batch.add_column(
            sa.Column("provenance", sa.String(length=16), nullable=False, server_default="channel")
        )
        batch.add_column(
            sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.current_timestamp(),
            )
        )
    with op.batch_alter_table("identities") as batch:
        batch.alter_column("provenance", server_default=None)
        batch.alter_column("verified", server_default=None)
        batch.alter_column("created_at", server_default=None)
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("sender_kind", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("identity_id", BigId, nullable=True))
        batch.add_column(sa.Column("conversation_key", sa.String(length=512), nullable=True))
        batch.add_column(sa.Column("in_reply_to", sa.String(length=512), nullable=True))
        batch.add_column(sa.Column("delivery_state", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("delivery_error", sa.Text(), nullable=True))
        batch.create_foreign_key("fk_messages_identity_id", "identities", ["identity_id"], ["id"])
        batch.create_index(
            batch.f("ix_messages_conversation_key"), ["conversation_key"], unique=False
        )
        batch.create_index(batch.f("ix_messages_in_reply_to"), ["in_reply_to"], unique=False)
    # Existing email messages and identities: what they were all along.
    op.execute(
        "UPDATE messages SET sender_kind = 'email' "
        "WHERE direction = 'inbound' AND channel = 'email'"
    )
    op.execute(
        "UPDATE messages SET delivery_state = CASE WHEN external_id IS NOT NULL THEN 'sent' "
        "ELSE 'queued' END WHERE direction = 'outbound'"
    )
    op.create_table(
        "customer_merges",
        sa.Column("id", BigId, nullable=False),
        sa.Column("from_customer_id", BigId, nullable=False),
        sa.Column("into_customer_id", BigId, nullable=False),
        sa.Column("identity_ids", sa.JSON(), nullable=False),
        sa.Column("ticket_ids", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["from_customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["into_customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer_merges") as batch:
        batch.create_index(
            batch.f("ix_customer_merges_from_customer_id"), ["from_customer_id"], unique=False
        )
        batch.create_index(
            batch.f("ix_customer_merges_into_customer_id"), ["into_customer_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("customer_merges")
    with op.batch_alter_table("messages") as batch:
        batch.drop_index(batch.f("ix_messages_in_reply_to"))
        batch.drop_index(batch.f("ix_messages_conversation_key"))
        batch.drop_constraint("fk_messages_identity_id", type_="foreignkey")
        for name in (
            "delivery_error",
            "delivery_state",
            "in_reply_to",
            "conversation_key",
            "identity_id",
            "sender_kind",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("identities") as batch:
        for name in ("created_at", "verified", "provenance"):
            batch.drop_column(name)
    with op.batch_alter_table("customers") as batch:
        batch.drop_constraint("fk_customers_merged_into_id", type_="foreignkey")
        batch.drop_column("merged_into_id")
