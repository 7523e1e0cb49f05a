"""Deliver one planned hand-off: post it, record the attempt, schedule a retry or give up.

The HTTP call happens between two short transactions so no lock is held while a
slow receiver answers. Two runs of the same delivery send the same idempotency
key, which the receiver uses to keep one ticket.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from config.destinations import WebhookDestination
from config.rules import RuleSet
from ingest import outbox
from ingest.db import unit_of_work
from ingest.models import Delivery, DeliveryAttempt, Message, Ticket, utcnow
from ingest.queries import latest_decision
from workers.desks.base import AttemptResult, Outcome, backoff_seconds
from workers.desks.webhook import post_webhook
from workers.payloads import handoff_document

log = logging.getLogger(__name__)

FINAL_STATUSES = {"delivered", "rejected", "dead"}


@dataclass(frozen=True, slots=True)
class PreparedDelivery:
    delivery_id: int
    attempt: int
    event: str
    idempotency_key: str
    payload: dict[str, Any]
    destination: WebhookDestination


def deliver(
    sessions: sessionmaker[Session], rules: RuleSet, delivery_id: int, client: httpx.Client
) -> str | None:
    """Run one attempt if the delivery is due; returns the delivery's new status."""
    with unit_of_work(sessions) as session:
        prepared = _prepare(session, rules, delivery_id)
    if isinstance(prepared, str) or prepared is None:
        return prepared
    secret = os.environ.get(prepared.destination.secret_env, "")
    if not secret:
        result = AttemptResult(
            Outcome.REJECTED,
            None,
            f"secret variable {prepared.destination.secret_env} is not set",
            None,
            None,
            0,
        )
    else:
        result = post_webhook(
            client,
            prepared.destination,
            event=prepared.event,
            payload=prepared.payload,
            idempotency_key=prepared.idempotency_key,
            secret=secret.encode(),
            now=int(time.time()),
        )
    with unit_of_work(sessions) as session:
        return _record(session, prepared, result)


def _prepare(session: Session, rules: RuleSet, delivery_id: int) -> PreparedDelivery | str | None:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return None
    if delivery.status in FINAL_STATUSES:
        return delivery.status
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > utcnow():
        return delivery.status  # an early duplicate message; the scheduled retry will run it
    destination = rules.destinations.get(delivery.destination)
    if destination is None:
        delivery.status = "rejected"
        delivery.last_error = f"destination {delivery.destination!r} is not configured"
        return delivery.status
    ticket = session.get(Ticket, delivery.ticket_id)
    message = session.get(Message, delivery.message_id)
    assert ticket is not None and message is not None
    decision = latest_decision(session, ticket.id)
    return PreparedDelivery(
        delivery_id=delivery.id,
        attempt=delivery.attempts + 1,
        event=delivery.event,
        idempotency_key=delivery.idempotency_key,
        payload=handoff_document(delivery.event, delivery.id, ticket, message, decision),
        destination=destination,
    )


def _record(session: Session, prepared: PreparedDelivery, result: AttemptResult) -> str:
    delivery = session.get(Delivery, prepared.delivery_id, with_for_update=True)
    assert delivery is not None
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id,
            outcome=result.outcome.value,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
        )
    )
    delivery.attempts += 1
    delivery.updated_at = utcnow()
    delivery.last_error = result.error
    delivery.next_attempt_at = None
    if result.outcome is Outcome.DELIVERED:
        delivery.status = "delivered"
        delivery.external_id = result.external_id or delivery.external_id
    elif result.outcome is Outcome.REJECTED:
        delivery.status = "rejected"
    elif delivery.attempts >= prepared.destination.max_attempts:
        delivery.status = "dead"
    else:
        delay = backoff_seconds(
            delivery.attempts,
            prepared.destination.backoff_base_seconds,
            prepared.destination.backoff_max_seconds,
            result.retry_after_seconds,
        )
        delivery.status = "retrying"
        delivery.next_attempt_at = utcnow() + timedelta(seconds=delay)
        outbox.add_work(
            session, outbox.DELIVER, delay=timedelta(seconds=delay), delivery_id=delivery.id
        )
    log.info(
        "delivery %s to %s: attempt %s %s (%s)",
        delivery.id,
        delivery.destination,
        delivery.attempts,
        delivery.status,
        result.error or result.status_code,
    )
    return delivery.status
