"""Prioritize: ``highest`` (the most urgent matching rule wins, VIPs raise it) or ``score``.

In ``score`` mode the weighted signals (``router.signals``) and each matching rule's
``score:`` add up, ``scoring.levels`` maps the sum to a priority, and a matching rule's
``priority:`` is a floor. Every contribution is in the trace.
"""

from __future__ import annotations

from config.rules import PRIORITIES, PrioritizeStage, PriorityRule
from config.scoring import Levels
from router.match import StageResult, add_tags, entry, evaluate, skipped
from router.rules import Context, Hit
from router.rules.vip_sender import check_vip
from router.signals import SIGNALS
from router.types import TraceEntry, at_least

STAGE = "priority"
SCORE_STAGE = "score"


def prioritize(stage: PrioritizeStage, ctx: Context) -> StageResult:
    """The priority for the ticket in ``ctx``; every rule is evaluated and traced."""
    trace: list[TraceEntry] = []
    tags: list[str] = []
    hits: list[PriorityRule] = []
    stopped_by: str | None = None
    for rule in stage.rules:
        if stopped_by is not None:
            trace.append(skipped(STAGE, rule.name, stopped_by, stop=True))
            continue
        verdict = evaluate(rule.when, ctx)
        trace.append(entry(STAGE, rule.name, verdict))
        if isinstance(verdict, Hit):
            hits.append(rule)
            add_tags(tags, rule.tags)
            if rule.stop:
                stopped_by = rule.name
    if stage.match == "score":
        return _by_score(stage, ctx, hits, trace, tuple(tags))
    return _by_highest(stage, ctx, hits, trace, tuple(tags))


def _most_urgent(hits: list[PriorityRule]) -> PriorityRule | None:
    """The first of the most urgent rules that set a priority."""
    setting = [rule for rule in hits if rule.priority is not None]
    if not setting:
        return None
    return max(setting, key=lambda rule: PRIORITIES.index(rule.priority or "low"))


def _by_highest(
    stage: PrioritizeStage,
    ctx: Context,
    hits: list[PriorityRule],
    trace: list[TraceEntry],
    tags: tuple[str, ...],
) -> StageResult:
    best = _most_urgent(hits)
    if best is not None and best.priority is not None:
        priority, why = best.priority, f"from rule {best.name!r}"
    else:
        priority, why = stage.default, "the default: no rule matched"

    vip = check_vip(stage.vip, ctx)
    if isinstance(vip, Hit):
        if at_least(priority, stage.vip.priority) != priority:
            priority, why = stage.vip.priority, "raised for a VIP sender"
            vip = Hit(f"{vip.reason}: priority raised to {priority}")
        else:
            vip = Hit(f"{vip.reason}: priority already {priority}")
    trace.append(entry(STAGE, "vip-sender", vip))
    return StageResult(priority, why, tuple(trace), tags)


def _by_score(
    stage: PrioritizeStage,
    ctx: Context,
    hits: list[PriorityRule],
    trace: list[TraceEntry],
    tags: tuple[str, ...],
) -> StageResult:
    scoring = stage.scoring
    total = 0.0
    for signal in SIGNALS:
        found = signal(scoring, ctx)
        if found is not None:
            total += found.points
            reason = f"{found.points:+g}: {found.reason}"
            trace.append(TraceEntry(SCORE_STAGE, found.signal, True, reason))
    for rule in hits:
        if rule.score is not None:
            total += rule.score
            reason = f"{rule.score:+g} from rule {rule.name!r}"
            trace.append(TraceEntry(SCORE_STAGE, rule.name, True, reason))
    total = round(total, 1)
    priority = level_of(total, scoring.levels)
    why = f"score {total:g}"
    floor = _most_urgent(hits)
    if floor is not None and at_least(priority, floor.priority) != priority:
        priority = at_least(priority, floor.priority)
        why = f"score {total:g}, raised by rule {floor.name!r}"
    trace.append(TraceEntry(SCORE_STAGE, "total", True, f"{total:g} points: {priority}"))
    return StageResult(priority, why, tuple(trace), tags, score=total)


def level_of(score: float, levels: Levels) -> str:
    """The priority a score maps to."""
    if score >= levels.critical:
        return "critical"
    if score >= levels.high:
        return "high"
    if score >= levels.medium:
        return "medium"
    return "low"
