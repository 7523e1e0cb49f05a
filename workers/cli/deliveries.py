"""``omniroute deliveries list|retry``: see every hand-off, and send a failed one again.

``retry`` re-queues a ``dead`` or ``rejected`` delivery with a fresh attempt budget
(its attempt log is kept, so the desk client still looks for what an earlier attempt
may have created). Retrying a ``ticket.created`` delivery also re-queues the
follow-ups of that ticket to that destination that were rejected without ever being
tried, because they were waiting for it.
"""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ingest import outbox
from ingest.db import TAKE_TURNS, unit_of_work
from ingest.models import Delivery, utcnow
from ingest.views import delivery_summary
from workers.cli.support import command_settings, store
from workers.delivery.planning import TICKET_CREATED

STATUSES = ("pending", "retrying", "delivered", "rejected", "dead")
RETRYABLE = frozenset({"rejected", "dead"})


class NotRetryable(Exception):
    """The delivery does not exist or is not dead or rejected."""


def delivery_view(delivery: Delivery) -> dict[str, Any]:
    """One delivery with its attempt log (JSON-safe)."""
    return {
        **delivery_summary(delivery),
        "ticket": delivery.ticket_id,
        "message_id": delivery.message_id,
        "idempotency_key": delivery.idempotency_key,
        "created_at": _iso(delivery.created_at),
        "updated_at": _iso(delivery.updated_at),
        "attempt_log": [
            {
                "attempted_at": _iso(a.attempted_at),
                "outcome": a.outcome,
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in delivery.attempt_log
        ],
    }


def list_deliveries(
    session: Session, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The most recent deliveries, newest first, optionally only those in ``status``."""
    query = select(Delivery).options(selectinload(Delivery.attempt_log))
    if status is not None:
        query = query.where(Delivery.status == status)
    rows = session.execute(query.order_by(Delivery.id.desc()).limit(limit)).scalars()
    return [delivery_view(d) for d in rows]


def requeue(session: Session, delivery_id: int) -> list[int]:
    """Give a dead or rejected delivery a fresh budget and queue it; the ids re-queued."""
    delivery = session.get(Delivery, delivery_id, with_for_update=TAKE_TURNS)
    if delivery is None:
        raise NotRetryable(f"no delivery {delivery_id}")
    if delivery.status not in RETRYABLE:
        raise NotRetryable(
            f"delivery {delivery_id} is {delivery.status}; only dead or rejected ones are retried"
        )
    queued = [_fresh(session, delivery)]
    if delivery.event == TICKET_CREATED:
        waiting = session.execute(
            select(Delivery).where(
                Delivery.ticket_id == delivery.ticket_id,
                Delivery.destination == delivery.destination,
                Delivery.event != TICKET_CREATED,
                Delivery.status == "rejected",
                ~Delivery.attempt_log.any(),
            )
        ).scalars()
        queued.extend(_fresh(session, follow_up) for follow_up in waiting)
    return queued


def _fresh(session: Session, delivery: Delivery) -> int:
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = None
    delivery.updated_at = utcnow()
    outbox.add_work(session, outbox.DELIVER, delivery_id=delivery.id)
    return delivery.id


@click.group()
def deliveries() -> None:
    """Hand-offs to other help desks."""


@deliveries.command(name="list")
@click.option("--status", type=click.Choice(STATUSES), help="Only deliveries in this status.")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON, with every attempt.")
def deliveries_list(status: str | None, limit: int, as_json: bool) -> None:
    """The most recent deliveries, newest first."""
    with store(command_settings()) as sessions, sessions() as session:
        rows = list_deliveries(session, status, limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no deliveries" + (f" {status}" if status else ""))
    for row in rows:
        external = f" external {row['external_id']}" if row["external_id"] else ""
        error = (
            f"  {row['last_error']}" if row["last_error"] and row["status"] != "delivered" else ""
        )
        click.echo(
            f"{row['id']:<6} #{row['ticket']:<6} {row['destination']:<14} {row['event']:<22} "
            f"{row['status']:<9} {row['attempts']} attempt(s){external}{error}"
        )


@deliveries.command(name="retry")
@click.argument("delivery_id", type=int)
def deliveries_retry(delivery_id: int) -> None:
    """Re-queue a dead or rejected delivery with a fresh attempt budget."""
    with store(command_settings()) as sessions:
        try:
            with unit_of_work(sessions) as session:
                queued = requeue(session, delivery_id)
        except NotRetryable as exc:
            raise click.ClickException(str(exc)) from None
    others = [str(i) for i in queued[1:]]
    more = f" (and its waiting follow-ups {', '.join(others)})" if others else ""
    click.echo(f"delivery {delivery_id} re-queued{more}")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
