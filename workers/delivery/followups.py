"""Plan the hand-offs that follow a ticket to where it went: new messages, status changes.

Run from outbox work that ingest writes (``follow_up`` when a customer message is
added to an existing ticket, ``status_change`` when its status changes). "Where it
went" is every destination with a ``ticket.created`` delivery on the ticket; the
deliveries themselves wait for that one to be delivered (``workers.delivery.deliver``).

Both lock the ticket row first, as triage does, so a message that arrives while the
ticket is being routed is planned by one of them whichever commits first (triage
plans the messages it sees; this plans for the deliveries it sees).
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from config.destinations import WebhookDestination
from config.rules import RuleSet
from ingest.db import TAKE_TURNS
from ingest.models import Delivery, Message, Ticket
from ingest.rows import locked
from ingest.status import parse_status_event
from workers.delivery.planning import (
    CUSTOMER_MESSAGE,
    MESSAGE_APPENDED,
    STATUS_CHANGED,
    TICKET_CREATED,
    plan_delivery,
)

# Run for every customer message on an existing ticket: built once, with bound
# parameters (building it costs more than running it).
_CREATED_DESTINATIONS = (
    select(Delivery.destination)
    .where(Delivery.ticket_id == bindparam("ticket_id"), Delivery.event == TICKET_CREATED)
    .distinct()
    .order_by(Delivery.destination)
)


def plan_followups(session: Session, ticket_id: int, message_id: int) -> list[int]:
    """Plan ``message.appended`` of a customer message; the new deliveries' ids."""
    ticket = locked(session, Ticket, ticket_id)
    message = session.get(Message, message_id)
    if ticket is None or message is None or message.ticket_id != ticket.id:
        return []
    if message.direction != "inbound" or message.kind != CUSTOMER_MESSAGE:
        return []  # auto-reply notes and bounces stay with us
    planned = []
    for destination in destinations_with_ticket(session, ticket.id):
        delivery_id = plan_delivery(session, ticket.id, message.id, destination, MESSAGE_APPENDED)
        if delivery_id is not None:
            planned.append(delivery_id)
    return planned


def plan_status_change(
    session: Session, rules: RuleSet, ticket_id: int, message_id: int
) -> list[int]:
    """Plan ``ticket.status_changed`` to the webhook destinations that got the ticket."""
    ticket = session.get(Ticket, ticket_id, with_for_update=TAKE_TURNS)
    event = session.get(Message, message_id)
    if ticket is None or event is None or event.ticket_id != ticket.id:
        return []
    if event.kind != "event" or parse_status_event(event.body_text) is None:
        return []
    planned = []
    for destination in destinations_with_ticket(session, ticket.id):
        if not isinstance(rules.destinations.get(destination), WebhookDestination):
            continue
        delivery_id = plan_delivery(session, ticket.id, event.id, destination, STATUS_CHANGED)
        if delivery_id is not None:
            planned.append(delivery_id)
    return planned


def destinations_with_ticket(session: Session, ticket_id: int) -> list[str]:
    """The destinations a ``ticket.created`` delivery of the ticket was planned for."""
    return list(session.execute(_CREATED_DESTINATIONS, {"ticket_id": ticket_id}).scalars())
