"""The ticket statuses, shared by the store, the router and the API.

``new`` (nobody looked yet), ``open``, ``pending`` (waiting on the customer),
``solved`` and ``closed``; the last two are resolved: no SLA clock runs, and they do
not count against an agent's capacity.
"""

from __future__ import annotations

from enum import StrEnum

STATUSES = ("new", "open", "pending", "solved", "closed")
RESOLVED = ("solved", "closed")


class OutboundState(StrEnum):
    """Where a message to a customer stands on its channel."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


# A send in these states is over: never tried again.
OUTBOUND_FINAL = frozenset({OutboundState.SENT, OutboundState.DELIVERED, OutboundState.FAILED})
