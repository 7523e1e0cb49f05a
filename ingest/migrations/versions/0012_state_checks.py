"""every stored state checked by the store: CHECK constraints from config.statuses

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

from config.statuses import (
    AutomatedSendStatus,
    DeliveryStatus,
    DeskEvent,
    InboundStatus,
    OutboundState,
    TicketStatus,
)

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECKS = (
    ("tickets", "status", tuple(TicketStatus), False),
    ("inbound", "status", tuple(InboundStatus), False),
    ("messages", "delivery_state", tuple(OutboundState), True),
    ("deliveries", "status", tuple(DeliveryStatus), False),
    ("deliveries", "event", tuple(DeskEvent), False),
    ("automated_sends", "status", tuple(AutomatedSendStatus), False),
)


def _condition(column: str, values: tuple[str, ...], nullable: bool) -> str:
    listed = ", ".join(f"'{value}'" for value in values)
    condition = f"{column} IN ({listed})"
    return f"{column} IS NULL OR {condition}" if nullable else condition


def upgrade() -> None:
    for table, column, values, nullable in CHECKS:
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint(
                f"ck_{table}_{column}", _condition(column, values, nullable)
            )


def downgrade() -> None:
    for table, column, _values, _nullable in reversed(CHECKS):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"ck_{table}_{column}", type_="check")
