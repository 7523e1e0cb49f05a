"""The values the router takes and returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from config.rules import DEFAULT_CATEGORIES as CATEGORIES
from config.rules import PRIORITIES

__all__ = [
    "CATEGORIES",
    "PRIORITIES",
    "Assignment",
    "Decision",
    "RoutingState",
    "TicketFacts",
    "TraceEntry",
    "at_least",
]


def at_least(priority: str, floor: str | None) -> str:
    """``priority``, or ``floor`` when that is more urgent."""
    if floor is None or floor not in PRIORITIES or priority not in PRIORITIES:
        return priority
    return floor if PRIORITIES.index(floor) > PRIORITIES.index(priority) else priority


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the router may look at, gathered by the shell from the store."""

    number: int
    channel: str
    subject: str
    body: str
    sender_email: str
    recipient: str | None = None
    has_attachments: bool = False
    is_automated: bool = False
    message_count: int = 1
    # When the message arrived (UTC): business-hours conditions and SLA clocks start
    # here, so replaying a decision later gives the same answer.
    received_at: datetime | None = None
    # The IMAP mailbox name, when the message was read from one.
    mailbox: str | None = None
    # ISO 639-1 code from ``normalize.language``, None when too short to tell.
    language: str | None = None
    # Inbound messages from this customer over the last days, this one included.
    recent_contacts: int = 1
    # Tags the channel gave the first message (a web form's ``tags:`` fields).
    tags: tuple[str, ...] = ()

    @property
    def sender_domain(self) -> str:
        return self.sender_email.rpartition("@")[2].lower()


@dataclass(frozen=True, slots=True)
class RoutingState:
    """What assignment needs from the store, looked up by the shell and passed in.

    ``loads`` counts open tickets per agent; ``cursors`` is each team's round-robin
    position; ``assignee`` and ``team`` are the ticket's current ones, kept when
    triage runs again so assignment is stable.
    """

    loads: Mapping[str, int] = field(default_factory=dict)
    cursors: Mapping[str, int] = field(default_factory=dict)
    assignee: str | None = None
    team: str | None = None


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One rule considered at one stage, and why it did or did not match."""

    stage: str
    rule: str
    matched: bool
    reason: str

    def as_json(self) -> dict[str, Any]:
        """The entry as a JSON-safe dict (spelled out: ``dataclasses.asdict`` deep-copies
        every field, which triage paid for each of a decision's many entries)."""
        return {
            "stage": self.stage,
            "rule": self.rule,
            "matched": self.matched,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who works the ticket: the final team (after VIP and overflow), the assignee or None,
    how they were chosen, and ``cursor``, the team's next round-robin position to store
    (None when round-robin did not move)."""

    team: str
    assignee: str | None
    strategy: str  # round-robin | least-loaded | skills | kept | queue | unavailable
    cursor: int | None
    trace: tuple[TraceEntry, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """Final values plus the trace that produced them."""

    category: str
    priority: str
    team: str
    destinations: tuple[str, ...]
    trace: tuple[TraceEntry, ...]
    rules_version: str
    tags: tuple[str, ...] = ()
    tier: str | None = None
    language: str | None = None
    priority_score: float | None = None
    assignee: str | None = None
    assignment: Assignment | None = None  # how ``team`` and ``assignee`` were chosen
    # What set ``category``: a "rule", the "model" (confident enough), the classifier's
    # "fallback" (model unsure or not loaded) or the stage's "default".
    category_source: str = "default"

    def reasons(self) -> list[dict[str, Any]]:
        """The trace as JSON-safe dicts."""
        return [entry.as_json() for entry in self.trace]
