"""The values the router takes and returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from config.rules import DEFAULT_CATEGORIES as CATEGORIES
from config.rules import PRIORITIES

__all__ = ["CATEGORIES", "PRIORITIES", "Decision", "TicketFacts", "TraceEntry"]


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

    @property
    def sender_domain(self) -> str:
        return self.sender_email.rpartition("@")[2].lower()


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One rule considered at one stage, and why it did or did not match."""

    stage: str
    rule: str
    matched: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Decision:
    """Final values plus the trace that produced them."""

    category: str
    priority: str
    team: str
    destinations: tuple[str, ...]
    trace: tuple[TraceEntry, ...]
    rules_version: str

    def reasons(self) -> list[dict[str, Any]]:
        """The trace as JSON-safe dicts."""
        return [asdict(entry) for entry in self.trace]
