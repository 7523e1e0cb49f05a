"""What every condition shares: the context it reads and the verdict it returns.

A condition is one kind of test a rule's ``when:`` can ask for (keywords, sender
domain, channel...). It is a named predicate that always gives its reason, so a
decision's trace can say why a rule matched and why it did not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from config.calendars import Calendar
from config.rule_fields import WORD
from config.rules import When
from router.types import TicketFacts

# Conditions run over bounded text: subject and body are cut to 64 KiB before any
# keyword or regex sees them, and patterns are compiled once at load time with a
# length limit, so one message cannot make matching arbitrarily slow.
MAX_TEXT_CHARS = 64 * 1024


@dataclass(frozen=True, slots=True)
class Hit:
    """The condition holds, and why."""

    reason: str


@dataclass(frozen=True, slots=True)
class Miss:
    """The condition does not hold, and why."""

    reason: str


@dataclass(frozen=True, slots=True)
class Context:
    """The ticket as conditions see it: facts, bounded text and values decided so far."""

    facts: TicketFacts
    subject: str
    body: str
    category: str | None = None
    priority: str | None = None
    tier: str | None = None
    # The rule set's business-hours calendars, by name (for business_hours/after_hours).
    calendars: Mapping[str, Calendar] = field(default_factory=dict)
    # Words of subject and body, worked out once per ticket (see ``ascii_words``).
    _words: dict[str, frozenset[str] | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(
        cls,
        facts: TicketFacts,
        tier: str | None = None,
        calendars: Mapping[str, Calendar] | None = None,
    ) -> Context:
        """A context for ``facts`` with subject and body truncated to ``MAX_TEXT_CHARS``."""
        subject, body = facts.subject[:MAX_TEXT_CHARS], facts.body[:MAX_TEXT_CHARS]
        return cls(facts, subject, body, tier=tier, calendars=calendars or {})

    def with_decided(self, **values: str | None) -> Context:
        """This context with a stage's decided value (category, priority) filled in."""
        return replace(self, **values)  # type: ignore[arg-type]

    def text(self, field: str) -> str:
        """The bounded text of ``field`` ("subject" or "body")."""
        return self.subject if field == "subject" else self.body

    def ascii_words(self, field: str) -> frozenset[str] | None:
        r"""The lowercased ``\w+`` words of ``field``; None when any word is not ASCII (then
        only the regex can tell whether a keyword matches)."""
        if field not in self._words:
            words = frozenset(word.lower() for word in WORD.findall(self.text(field)))
            self._words[field] = words if all(word.isascii() for word in words) else None
        return self._words[field]


class Condition(Protocol):
    """One kind of test in a rule's ``when:``; registered in ``router.rules.CONDITIONS``."""

    name: str  # kebab-case, stable
    description: str

    def applies(self, when: When) -> bool:
        """True when ``when`` asks for this condition."""
        ...

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        """Test the ticket; called only when ``applies(when)``."""
        ...


def listed(values: Iterable[str], limit: int = 5) -> str:
    """``values`` as a short human list for reasons: "a, b, c and 4 more"."""
    items = list(values)
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"
