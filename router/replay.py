"""Compare stored decisions with what new rules would decide: the core of ``omniroute replay``.

Pure: the shell hands in pairs of (stored decision, new decision) and prints the
report; nothing here writes or sends anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from router.types import Decision

FIELDS = ("category", "priority", "team", "destinations")


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """The values a ticket's latest stored decision holds."""

    category: str
    priority: str
    team: str
    destinations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Change:
    """One field of one ticket that the new rules would decide differently."""

    ticket: int
    field: str
    before: str
    after: str
    why: str


@dataclass
class ReplayReport:
    """How many tickets were replayed, and the changes per field with examples."""

    tickets: int = 0
    undecided: int = 0  # tickets with no stored decision: compared with nothing
    changed_tickets: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    examples: dict[str, list[Change]] = field(default_factory=lambda: {f: [] for f in FIELDS})


def changes(ticket: int, stored: StoredDecision, new: Decision) -> list[Change]:
    """The fields of ``new`` that differ from ``stored``, each with the new decision's reason."""
    reasons = {entry.rule: entry.reason for entry in new.trace if entry.stage == "decision"}
    found: list[Change] = []
    pairs = (
        ("category", stored.category, new.category, reasons.get("category", "")),
        ("priority", stored.priority, new.priority, reasons.get("priority", "")),
        ("team", stored.team, new.team, reasons.get("route", "")),
        (
            "destinations",
            ", ".join(sorted(stored.destinations)) or "none",
            ", ".join(sorted(new.destinations)) or "none",
            reasons.get("route", ""),
        ),
    )
    for name, before, after, why in pairs:
        if before != after:
            found.append(Change(ticket, name, before, after, why))
    return found


def summarize(
    results: Iterable[tuple[int, StoredDecision | None, Decision]], examples: int = 3
) -> ReplayReport:
    """Fold replayed tickets into a report keeping up to ``examples`` changes per field."""
    report = ReplayReport()
    for ticket, stored, new in results:
        report.tickets += 1
        if stored is None:
            report.undecided += 1
            continue
        found = changes(ticket, stored, new)
        if found:
            report.changed_tickets += 1
        for change in found:
            report.counts[change.field] += 1
            if len(report.examples[change.field]) < examples:
                report.examples[change.field].append(change)
    return report


def render(report: ReplayReport) -> str:
    """The report as the lines ``omniroute replay`` prints."""
    lines = [
        f"replayed {report.tickets} ticket(s); {report.changed_tickets} would change "
        "(dry run: nothing was written or sent)"
    ]
    if report.undecided:
        lines.append(f"{report.undecided} ticket(s) had no stored decision to compare with")
    for name in FIELDS:
        lines.append(f"{name}: {report.counts[name]} would change")
        for change in report.examples[name]:
            lines.append(f"  #{change.ticket}: {change.before} -> {change.after} ({change.why})")
    return "\n".join(lines)
