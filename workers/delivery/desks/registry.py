"""Which client hands off to which kind of destination, and which events each kind takes.

The one place a new desk is registered (STYLE 15): its destination type and its
module, whose ``send`` and ``EVENTS`` serve every destination of that type. A
module is imported when a destination of its type is first met, so a deployment
loads only its own desks' clients (httpx only for the HTTP desks, slack_sdk only
for Slack). A kind asked for an event it does not take rejects the delivery with
a reason instead of guessing.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Protocol, cast

from config.destinations import AnyDestination
from workers.delivery.desks.base import AttemptResult
from workers.delivery.desks.handoff import DeskContext, Handoff

MODULES: dict[str, str] = {
    "webhook": "workers.delivery.desks.webhook",
    "email": "workers.delivery.desks.email_forward",
    "zendesk": "workers.delivery.desks.zendesk",
    "freshdesk": "workers.delivery.desks.freshdesk",
    "slack": "workers.delivery.desks.slack",
}


class DeskClient(Protocol):
    """What a desk module offers: the events it takes, and one attempt's ``send``."""

    EVENTS: frozenset[str]

    def send(self, context: DeskContext, destination: Any, handoff: Handoff) -> AttemptResult: ...


def client_for(kind: str) -> DeskClient:
    """The desk module serving destinations of type ``kind``."""
    try:
        name = MODULES[kind]
    except KeyError:
        raise TypeError(f"no desk client for destinations of type {kind!r}") from None
    return cast(DeskClient, import_module(name))


def events(kind: str) -> frozenset[str]:
    """The events destinations of type ``kind`` take."""
    return client_for(kind).EVENTS


def takes(destination: AnyDestination, event: str) -> bool:
    return event in events(destination.type)


def send(context: DeskContext, destination: AnyDestination, handoff: Handoff) -> AttemptResult:
    """One attempt of ``handoff`` to ``destination`` through the client of its kind; the
    caller has checked that the kind ``takes`` the event."""
    return client_for(destination.type).send(context, destination, handoff)
