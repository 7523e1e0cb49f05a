"""due work: outbox rows record their broker message, when their work was done, and
how often it was handed over again

Revision ID: 0007
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DONE = sa.text("done_at IS NULL")
_MARK_DONE = (
    "UPDATE outbox SET done_at = enqueued_at WHERE enqueued_at IS NOT NULL AND NOT ("
    "outbox.actor = 'ingest' AND EXISTS (SELECT 1 FROM inbound WHERE inbound.status = "
    "'pending' AND inbound.id = {inbound_id}))"
)
MARK_DONE = {
    "sqlite": _MARK_DONE.format(inbound_id="json_extract(outbox.payload, '$.inbound_id')"),
    "postgresql": _MARK_DONE.format(inbound_id="CAST(outbox.payload ->> 'inbound_id' AS BIGINT)"),
}


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("broker_message_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("redeliveries", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("redeliveries", server_default=None)
    # Work handed to the broker before this revision counts as done, except the ingest
    # of a record still pending: that one the broker may have lost, so it stays due.
    op.execute(MARK_DONE[op.get_bind().dialect.name])
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["actor", "not_before"],
        postgresql_where=DONE,
        sqlite_where=DONE,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("redeliveries")
        batch.drop_column("done_at")
        batch.drop_column("broker_message_id")
