"""Every state the store keeps, typed once: the store's CHECK constraints, the
router, the API and the workers all read them from here.

Ticket statuses: ``new`` (nobody looked yet), ``open``, ``pending`` (waiting on the
customer), ``solved`` and ``closed``; the last two are resolved: no SLA clock runs,
and they do not count against an agent's capacity.
"""

from __future__ import annotations

from enum import StrEnum


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    SOLVED = "solved"
    CLOSED = "closed"


STATUSES: tuple[str, ...] = tuple(status.value for status in TicketStatus)
RESOLVED: tuple[str, ...] = (TicketStatus.SOLVED.value, TicketStatus.CLOSED.value)


class InboundStatus(StrEnum):
    """Where a stored raw input stands: ``pending`` until ingest finished it."""

    PENDING = "pending"
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"  # the sender's fault: kept raw with the reason
    FAILED = "failed"  # a bug: recorded with its traceback, replayable
    IGNORED = "ignored"  # noise a channel never makes a ticket of (a bot, a join)


class DeliveryStatus(StrEnum):
    """A hand-off to another help desk."""

    PENDING = "pending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    REJECTED = "rejected"
    DEAD = "dead"


class DeskEvent(StrEnum):
    """What a hand-off tells a desk."""

    TICKET_CREATED = "ticket.created"
    MESSAGE_APPENDED = "message.appended"
    STATUS_CHANGED = "ticket.status_changed"
    ESCALATED = "ticket.escalated"


class AutomatedSendStatus(StrEnum):
    """An automated message (an acknowledgement): sent, or why not."""

    SENDING = "sending"
    SENT = "sent"
    SUPPRESSED = "suppressed"
    FAILED = "failed"


class OutboundState(StrEnum):
    """Where a message to a customer stands on its channel."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


# A send in these states is over: never tried again.
OUTBOUND_FINAL = frozenset({OutboundState.SENT, OutboundState.DELIVERED, OutboundState.FAILED})
