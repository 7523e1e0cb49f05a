"""Keeping an escalated priority: read from the sweep's actions, applied to a decision."""

from __future__ import annotations

from router.escalation_floor import escalated_priority, keep_escalated
from router.types import Decision, TraceEntry


def decision(priority: str) -> Decision:
    return Decision(
        category="general",
        priority=priority,
        team="support",
        destinations=(),
        trace=(
            TraceEntry("priority", "default", True, f"default {priority}"),
            TraceEntry("decision", "priority", True, f"{priority}, default"),
        ),
        rules_version="v2",
    )


def test_the_highest_bump_among_the_actions_is_the_escalated_priority() -> None:
    # Given the actions of two breaches, as the sweep records them
    actions = ["priority medium -> high", "escalated to helpdesk", "priority high -> critical"]
    # When read, then the highest priority raised to is the floor
    assert escalated_priority(actions) == "critical"


def test_actions_without_a_bump_give_no_escalated_priority() -> None:
    assert escalated_priority(["escalated to helpdesk", "notified oncall"]) is None
    assert escalated_priority(["priority medium -> urgent"]) is None


def test_a_lower_decision_is_raised_to_the_escalated_priority_with_its_reason() -> None:
    # Given a new decision of medium and an escalation to high
    kept = keep_escalated(decision("medium"), "high")
    # Then the decision is high, and its final priority entry says why
    assert kept.priority == "high"
    final = [e.reason for e in kept.trace if (e.stage, e.rule) == ("decision", "priority")]
    assert final == ["high, kept from an SLA escalation; the rules gave medium, default"]
    assert kept.trace[0] == decision("medium").trace[0]


def test_an_equal_or_higher_decision_is_left_alone() -> None:
    for priority in ("high", "critical"):
        assert keep_escalated(decision(priority), "high") == decision(priority)
    assert keep_escalated(decision("low"), None) == decision("low")
