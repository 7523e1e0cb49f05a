"""Which client hands off to which kind of destination, and which events each kind takes.

The one place a new desk is registered (STYLE 15): its module's ``send`` and
``EVENTS``. A kind asked for an event it does not take rejects the delivery with a
reason instead of guessing.
"""

from __future__ import annotations

from config.destinations import (
    AnyDestination,
    EmailDestination,
    FreshdeskDestination,
    SlackDestination,
    WebhookDestination,
    ZendeskDestination,
)
from workers.delivery.desks import email_forward, freshdesk, slack, webhook, zendesk
from workers.delivery.desks.base import AttemptResult
from workers.delivery.desks.handoff import DeskContext, Handoff

EVENTS: dict[str, frozenset[str]] = {
    "webhook": webhook.EVENTS,
    "email": email_forward.EVENTS,
    "zendesk": zendesk.EVENTS,
    "freshdesk": freshdesk.EVENTS,
    "slack": slack.EVENTS,
}


def takes(destination: AnyDestination, event: str) -> bool:
    return event in EVENTS[destination.type]


def send(context: DeskContext, destination: AnyDestination, handoff: Handoff) -> AttemptResult:
    """One attempt of ``handoff`` to ``destination`` through the client of its kind; the
    caller has checked that the kind ``takes`` the event."""
    if isinstance(destination, WebhookDestination):
        return webhook.send(context, destination, handoff)
    if isinstance(destination, EmailDestination):
        return email_forward.send(context, destination, handoff)
    if isinstance(destination, ZendeskDestination):
        return zendesk.send(context, destination, handoff)
    if isinstance(destination, FreshdeskDestination):
        return freshdesk.send(context, destination, handoff)
    if isinstance(destination, SlackDestination):
        return slack.send(context, destination, handoff)
    raise TypeError(f"no desk client for {type(destination).__name__}")
