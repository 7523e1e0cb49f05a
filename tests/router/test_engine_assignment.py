"""Specifications of assignment and business hours inside the engine's decision."""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from config.rules import load_rules, load_rules_text
from router.engine import decide
from router.types import RoutingState, TicketFacts

TEAMS = Path(__file__).parents[1] / "fixtures" / "rules" / "teams.yaml"
BERLIN = ZoneInfo("Europe/Berlin")
WEDNESDAY_10AM = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
SATURDAY_10AM = datetime(2026, 11, 28, 10, 0, tzinfo=BERLIN)

NIGHT_ROUTES = textwrap.dedent(
    """\
    calendars:
      berlin:
        timezone: Europe/Berlin
        weekly: {mon: "09:00-17:00", tue: "09:00-17:00", wed: "09:00-17:00",
                 thu: "09:00-17:00", fri: "09:00-17:00"}
    routes:
      - name: after-hours
        when: {after_hours: berlin}
        team: on-call
      - name: default
        team: support
    """
)


def facts(received_at: datetime, sender: str = "jane@customer.example") -> TicketFacts:
    return TicketFacts(
        number=7,
        channel="email",
        subject="Question",
        body="Hello, a question about my workspace.",
        sender_email=sender,
        received_at=received_at,
    )


def test_the_decision_names_the_assignee_and_explains_it() -> None:
    # Given the teams rules and support's cursor at bob
    rules = load_rules(TEAMS)
    state = RoutingState(cursors={"support": 1})
    # When a Wednesday-morning ticket is decided
    decision = decide(facts(WEDNESDAY_10AM), rules, state)
    # Then bob is the assignee, the assignment carries the next cursor, and the trace says how
    assert (decision.team, decision.assignee) == ("support", "bob")
    assert decision.assignment is not None and decision.assignment.cursor == 2
    reasons = {(e.stage, e.rule): e.reason for e in decision.trace}
    assert reasons[("assign", "support")] == (
        "round-robin: bob in team support, next in turn, 0/2 open"
    )
    assert reasons[("decision", "assignee")] == "bob, team support, round-robin"


def test_the_decision_team_is_where_the_ticket_ends_up() -> None:
    # Given a VIP customer (bigcorp.com) whose ticket routes to support
    rules = load_rules(TEAMS)
    # When it is decided
    decision = decide(facts(SATURDAY_10AM, sender="ceo@bigcorp.com"), rules)
    # Then the decision's team is the VIP desk, and victor has it
    assert (decision.tier, decision.team, decision.assignee) == ("vip", "vip-desk", "victor")


def test_availability_is_judged_at_the_time_given() -> None:
    # Given a message that arrived on Wednesday morning, decided again on Saturday
    rules = load_rules(TEAMS)
    # When it is decided with now on Saturday
    decision = decide(facts(WEDNESDAY_10AM), rules, now=SATURDAY_10AM)
    # Then nobody is available and it waits, unassigned, on support
    assert (decision.team, decision.assignee) == ("support", None)


def test_an_after_hours_route_holds_when_the_message_came_in_after_hours() -> None:
    # Given a route for messages that arrive outside Berlin business hours
    rules = load_rules_text(NIGHT_ROUTES)
    # When a Saturday message is decided
    decision = decide(facts(SATURDAY_10AM), rules)
    # Then it takes the after-hours route, and the trace says when it arrived
    assert decision.team == "on-call"
    [entry] = [e for e in decision.trace if e.rule == "after-hours"]
    assert entry.reason == "arrived Sat 10:00 Europe/Berlin, outside berlin business hours"


def test_an_after_hours_route_does_not_hold_during_business_hours() -> None:
    # Given the same route
    rules = load_rules_text(NIGHT_ROUTES)
    # When a Wednesday-morning message is decided
    decision = decide(facts(WEDNESDAY_10AM), rules)
    # Then it takes the default route
    assert decision.team == "support"


def test_a_business_hours_route_uses_the_arrival_time_not_the_decision_time() -> None:
    # Given a route for messages that arrive inside Berlin business hours
    rules = load_rules_text(
        NIGHT_ROUTES.replace("after-hours", "office-hours").replace("after_hours", "business_hours")
    )
    # When a Wednesday-morning message is decided on Saturday
    decision = decide(facts(WEDNESDAY_10AM), rules, now=SATURDAY_10AM)
    # Then the arrival time decides
    assert decision.team == "on-call"
