"""Specifications of assignment: strategies, capacity, business hours, overflow, VIP, stability."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.rules import RuleSet, default_rules, load_rules
from router.assign import assign
from router.types import Assignment, RoutingState

TEAMS = Path(__file__).parents[1] / "fixtures" / "rules" / "teams.yaml"
BERLIN = ZoneInfo("Europe/Berlin")
# Wednesday 2026-11-25 in Berlin: at 10:00 Berlin is open and New York (04:00) is not;
# at 16:00 both are (10:00 in New York); at 18:00 only New York is.
MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
AFTERNOON = datetime(2026, 11, 25, 16, 0, tzinfo=BERLIN)
EVENING = datetime(2026, 11, 25, 18, 0, tzinfo=BERLIN)
SATURDAY = datetime(2026, 11, 28, 12, 0, tzinfo=BERLIN)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(TEAMS)


def run(
    rules: RuleSet,
    team: str = "support",
    *,
    category: str = "general",
    language: str | None = None,
    tier: str | None = None,
    at: datetime | None = MORNING,
    loads: Mapping[str, int] | None = None,
    cursors: Mapping[str, int] | None = None,
    assignee: str | None = None,
    current_team: str | None = None,
    strategy: str | None = None,
) -> Assignment:
    state = RoutingState(loads or {}, cursors or {}, assignee, current_team)
    return assign(
        rules,
        team,
        category=category,
        language=language,
        tier=tier,
        at=at,
        state=state,
        strategy=strategy,
    )


# Round-robin


def test_round_robin_takes_the_member_at_the_cursor_and_moves_it_on(rules: RuleSet) -> None:
    # Given the support team's cursor at position 1 (bob)
    # When a ticket is assigned
    result = run(rules, cursors={"support": 1})
    # Then bob gets it and the cursor moves to carol
    assert (result.team, result.assignee, result.strategy, result.cursor) == (
        "support",
        "bob",
        "round-robin",
        2,
    )


def test_round_robin_wraps_around_the_member_list(rules: RuleSet) -> None:
    # Given the cursor at the last member
    # When a ticket is assigned
    result = run(rules, cursors={"support": 2})
    # Then carol gets it and the cursor goes back to the first member
    assert (result.assignee, result.cursor) == ("carol", 0)


def test_round_robin_passes_over_a_member_at_capacity(rules: RuleSet) -> None:
    # Given bob is next in turn but holds his capacity of 2 open tickets
    # When a ticket is assigned
    result = run(rules, cursors={"support": 1}, loads={"bob": 2})
    # Then carol gets it, and the trace says why bob was passed over
    assert (result.assignee, result.cursor) == ("carol", 0)
    assert "bob at capacity" in result.trace[-1].reason


# Least-loaded


def test_least_loaded_picks_the_member_with_the_fewest_open_tickets(rules: RuleSet) -> None:
    # Given support-us (least-loaded) with dave holding 3 tickets and erin 1, at New York noon
    # When a ticket is assigned there
    result = run(rules, "support-us", at=EVENING, loads={"dave": 3, "erin": 1})
    # Then erin gets it and no cursor moves
    assert (result.team, result.assignee, result.strategy, result.cursor) == (
        "support-us",
        "erin",
        "least-loaded",
        None,
    )


def test_least_loaded_gives_a_tie_to_the_first_listed(rules: RuleSet) -> None:
    # Given dave and erin with the same load
    # When a ticket is assigned
    result = run(rules, "support-us", at=EVENING, loads={"dave": 2, "erin": 2})
    # Then the first listed, dave, gets it
    assert result.assignee == "dave"


def test_a_route_can_override_the_teams_strategy(rules: RuleSet) -> None:
    # Given support (round-robin, cursor at alice) and a route asking for least-loaded
    # When a ticket is assigned with alice busiest
    result = run(rules, strategy="least-loaded", loads={"alice": 1, "bob": 1, "carol": 0})
    # Then the least loaded member gets it and the cursor stays
    assert (result.assignee, result.strategy, result.cursor) == ("carol", "least-loaded", None)


# Skills


def test_skills_prefers_the_category_and_the_language(rules: RuleSet) -> None:
    # Given the billing team (frank: billing/en, grace: billing/de, heidi: fr)
    # When a German billing ticket is assigned
    result = run(rules, "billing", category="billing", language="de")
    # Then grace, who has both, gets it
    assert (result.assignee, result.strategy) == ("grace", "skills")
    assert "skill billing and language de" in result.trace[-1].reason


def test_skills_ranks_the_category_above_the_language(rules: RuleSet) -> None:
    # Given a French billing ticket: heidi speaks French, frank and grace do billing
    # When it is assigned, with frank busier than grace
    result = run(rules, "billing", category="billing", language="fr", loads={"frank": 3})
    # Then the less loaded billing member gets it
    assert result.assignee == "grace"


def test_skills_falls_back_to_the_language_then_to_anyone(rules: RuleSet) -> None:
    # Given tickets outside everyone's skills, one in French and one in Japanese
    # When each is assigned
    french = run(rules, "billing", category="technical", language="fr")
    japanese = run(rules, "billing", category="technical", language="ja", loads={"frank": 1})
    # Then heidi takes the French one, and the least loaded member the other
    assert french.assignee == "heidi"
    assert japanese.assignee == "grace"
    assert "nobody available has skill technical" in japanese.trace[-1].reason


def test_skills_skips_members_at_capacity(rules: RuleSet) -> None:
    # Given grace, the best fit, at her capacity of 20
    # When a German billing ticket is assigned
    result = run(rules, "billing", category="billing", language="de", loads={"grace": 20})
    # Then frank, who has the skill, gets it
    assert result.assignee == "frank"


# Availability and overflow


def test_a_closed_team_overflows_to_its_fallback(rules: RuleSet) -> None:
    # Given 18:00 in Berlin: support is closed, support-us (New York) is open
    # When a support ticket is assigned
    result = run(rules, at=EVENING)
    # Then it goes to support-us, and the trace says support was closed
    assert (result.team, result.assignee) == ("support-us", "dave")
    assert result.trace[1].reason == (
        "team support is closed at Wed 18:00 Europe/Berlin; overflow to support-us"
    )


def test_a_team_at_full_capacity_overflows_to_its_fallback(rules: RuleSet) -> None:
    # Given both teams open and every support member at capacity
    # When a support ticket is assigned
    result = run(rules, at=AFTERNOON, loads={"alice": 2, "bob": 2, "carol": 2, "dave": 1})
    # Then the least loaded member of support-us gets it
    assert (result.team, result.assignee) == ("support-us", "erin")


def test_nobody_available_anywhere_leaves_the_ticket_queued_on_its_team(rules: RuleSet) -> None:
    # Given a Saturday: both support and support-us are closed
    # When a support ticket is assigned
    result = run(rules, at=SATURDAY)
    # Then it waits on support, unassigned, and the trace says where nobody was available
    assert (result.team, result.assignee, result.strategy, result.cursor) == (
        "support",
        None,
        "unavailable",
        None,
    )
    assert result.trace[-1].reason == (
        "nobody available in support, support-us: queued on support, unassigned"
    )


def test_without_a_time_business_hours_are_not_checked(rules: RuleSet) -> None:
    # Given no time to judge availability by
    # When a support ticket is assigned
    result = run(rules, at=None)
    # Then support's first member in turn gets it
    assert (result.team, result.assignee) == ("support", "alice")


# Queues, VIP


def test_a_team_without_members_is_a_queue(rules: RuleSet) -> None:
    # Given triage-queue, declared without members
    # When a ticket routed to it is assigned
    result = run(rules, "triage-queue")
    # Then it waits there, unassigned
    assert (result.team, result.assignee, result.strategy) == ("triage-queue", None, "queue")


def test_a_team_without_an_entry_is_a_queue(rules: RuleSet) -> None:
    # Given a routed team that has no teams: entry
    # When the ticket is assigned
    result = run(rules, "partners")
    # Then it waits on that team, unassigned, and the trace says why
    assert (result.team, result.assignee) == ("partners", None)
    assert result.trace[-1].reason == "team partners has no teams: entry: queued, unassigned"


def test_a_vip_ticket_goes_to_the_vip_team(rules: RuleSet) -> None:
    # Given a VIP customer's ticket routed to support, on a Saturday
    # When it is assigned
    result = run(rules, tier="vip", at=SATURDAY)
    # Then the VIP desk (no calendar: around the clock) takes it
    assert (result.team, result.assignee) == ("vip-desk", "victor")
    assert result.trace[0].reason == "tier vip: team vip-desk instead of support"


def test_other_tiers_stay_on_the_routed_team(rules: RuleSet) -> None:
    # Given a customer in no tier
    # When the ticket is assigned
    result = run(rules)
    # Then it stays on support, and the trace records that the VIP rule did not apply
    assert result.team == "support"
    assert (result.trace[0].rule, result.trace[0].matched) == ("vip-team", False)


# Stability


def test_the_current_assignee_keeps_the_ticket_when_triage_runs_again(rules: RuleSet) -> None:
    # Given a ticket bob holds on support, and the cursor since moved on to carol
    # When it is assigned again
    result = run(rules, assignee="bob", current_team="support", cursors={"support": 2})
    # Then bob keeps it and the cursor does not move
    assert (result.team, result.assignee, result.strategy, result.cursor) == (
        "support",
        "bob",
        "kept",
        None,
    )


def test_an_assignee_on_the_overflow_team_keeps_the_ticket(rules: RuleSet) -> None:
    # Given a ticket that overflowed to dave on support-us, assigned again in Berlin hours
    # When it is assigned again
    result = run(rules, assignee="dave", current_team="support-us")
    # Then dave keeps it on support-us
    assert (result.team, result.assignee, result.strategy) == ("support-us", "dave", "kept")


def test_an_assignee_who_left_the_team_is_replaced(rules: RuleSet) -> None:
    # Given a ticket held by someone no longer listed on support
    # When it is assigned again
    result = run(rules, assignee="zed", current_team="support")
    # Then a current member gets it, and the trace says why
    assert result.assignee == "alice"
    assert "zed is no longer a member of team support" in result.trace[1].reason


def test_a_ticket_routed_to_another_team_is_assigned_there(rules: RuleSet) -> None:
    # Given alice holds a ticket on support, and new rules route it to billing
    # When it is assigned again
    result = run(
        rules,
        "billing",
        category="billing",
        language="en",
        assignee="alice",
        current_team="support",
    )
    # Then billing's best fit gets it
    assert (result.team, result.assignee) == ("billing", "frank")


def test_without_teams_there_is_nothing_to_assign_or_explain() -> None:
    # Given the default rules, which declare no teams
    # When a ticket is assigned
    result = run(default_rules())
    # Then it waits on its team with no trace
    assert (result.team, result.assignee, result.strategy, result.trace) == (
        "support",
        None,
        "queue",
        (),
    )
