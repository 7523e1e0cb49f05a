"""Evaluate one rule's ``when:`` and record the verdict as a trace entry."""

from __future__ import annotations

from dataclasses import dataclass

from config.rules import When
from router.rules import CONDITIONS, Condition, Context, Hit, Miss
from router.types import TraceEntry


@dataclass(frozen=True, slots=True)
class StageResult:
    """What one stage decided, why, and every rule it considered."""

    value: str
    why: str
    trace: tuple[TraceEntry, ...]
    tags: tuple[str, ...] = ()
    score: float | None = None


# The conditions each ``when:`` asks for, worked out once per rule rather than once per
# ticket. Keyed by id() with the rule kept alive beside its plan, so an id is never
# reused while cached; cleared when it grows past a few rule-file reloads' worth.
_PLANS: dict[int, tuple[When, tuple[Condition, ...]]] = {}
_MAX_PLANS = 20_000


def conditions_of(when: When) -> tuple[Condition, ...]:
    """The registered conditions ``when`` asks for, in registry order."""
    cached = _PLANS.get(id(when))
    if cached is not None and cached[0] is when:
        return cached[1]
    plan = tuple(condition for condition in CONDITIONS if condition.applies(when))
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[id(when)] = (when, plan)
    return plan


def evaluate(when: When, ctx: Context) -> Hit | Miss:
    """Every condition ``when`` asks for must hold; the first miss gives the reason."""
    reasons: list[str] = []
    for condition in conditions_of(when):
        verdict = condition.check(when, ctx)
        if isinstance(verdict, Miss):
            return verdict
        reasons.append(verdict.reason)
    return Hit(" and ".join(reasons) if reasons else "no conditions")


def entry(stage: str, rule: str, verdict: Hit | Miss) -> TraceEntry:
    """A trace entry for ``rule`` at ``stage`` from its verdict."""
    return TraceEntry(stage, rule, isinstance(verdict, Hit), verdict.reason)


def skipped(stage: str, rule: str, winner: str, *, stop: bool = False) -> TraceEntry:
    """A trace entry for a rule left unevaluated: an earlier one matched first, or said stop."""
    why = "said stop" if stop else "matched first"
    return TraceEntry(stage, rule, False, f"not evaluated: {winner!r} {why}")


def add_tags(tags: list[str], new: tuple[str, ...]) -> None:
    """Append the tags not yet present, keeping their first order."""
    tags.extend(tag for tag in new if tag not in tags)
