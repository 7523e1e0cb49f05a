"""Specifications of calendars, teams, assignment and SLA in the rules YAML."""

from __future__ import annotations

import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest

from config.errors import RulesFileError
from config.rules import load_rules, load_rules_text

TEAMS = Path(__file__).parents[1] / "fixtures" / "rules" / "teams.yaml"

CALENDAR = """\
calendars:
  berlin:
    timezone: Europe/Berlin
    weekly: {mon: "09:00-17:00"}
"""
ROUTES = """\
routes:
  - name: default
    team: support
"""


def rules_error(text: str) -> RulesFileError:
    with pytest.raises(RulesFileError) as caught:
        load_rules_text(textwrap.dedent(text), source="rules.yaml")
    return caught.value


def test_teams_calendars_and_sla_load_typed() -> None:
    # Given the teams example
    # When it is loaded
    rules = load_rules(TEAMS)
    # Then calendars, teams, the VIP team and SLA targets are typed values
    berlin = rules.calendars["berlin"]
    assert (berlin.timezone, berlin.country, berlin.subdivision) == ("Europe/Berlin", "DE", "BY")
    assert [str(w) for w in berlin.weekly["mon"]] == ["09:00-17:00"]
    assert berlin.holidays == (date(2026, 12, 24),)
    support = rules.teams["support"]
    assert [m.name for m in support.members] == ["alice", "bob", "carol"]
    assert (support.strategy, support.overflow, support.calendar) == (
        "round-robin",
        "support-us",
        "berlin",
    )
    assert support.members[0].languages == ("en", "de")
    assert rules.teams["triage-queue"].members == ()
    assert rules.assignment.vip_team == "vip-desk"
    assert rules.sla.targets[2].first_response == timedelta(minutes=15)
    assert rules.sla.targets[0].resolution == timedelta(days=2)
    assert rules.sla.escalation.notify == ("oncall",)


def test_a_team_with_an_unknown_calendar_is_reported_at_its_line() -> None:
    # Given a team naming a calendar that is not declared, on line 7
    error = rules_error(
        CALENDAR
        + """\
teams:
  support:
    calendar: london
"""
        + ROUTES
    )
    # When it is loaded / Then the calendar and its line are named
    assert (error.line, error.detail) == (
        7,
        "teams.support.calendar: unknown calendar 'london' (known: berlin)",
    )


def test_an_overflow_cycle_is_reported_once_at_its_line() -> None:
    # Given two teams overflowing to each other (lines 3 and 5)
    error = rules_error(
        """\
teams:
  first:
    overflow: second
  second:
    overflow: first
"""
        + ROUTES
    )
    # When it is loaded / Then the cycle is named at the first team's overflow
    assert (error.line, error.detail) == (
        3,
        "teams.first.overflow: overflow cycle: first -> second -> first",
    )


def test_a_team_overflowing_to_itself_is_a_cycle() -> None:
    # Given a team whose overflow is itself
    error = rules_error("teams:\n  solo:\n    overflow: solo\n" + ROUTES)
    # When it is loaded / Then it is refused as a cycle
    assert (error.line, error.detail) == (3, "teams.solo.overflow: overflow cycle: solo -> solo")


def test_an_unknown_overflow_team_is_reported() -> None:
    # Given a team overflowing to a team without an entry
    error = rules_error("teams:\n  support:\n    overflow: nobody\n" + ROUTES)
    # When it is loaded / Then the reference is named with its line
    assert (error.line, error.detail) == (
        3,
        "teams.support.overflow: unknown team 'nobody' (known: support)",
    )


def test_an_unknown_vip_team_is_reported() -> None:
    # Given a VIP team that is not declared, on line 4
    error = rules_error("teams:\n  support: {}\nassignment:\n  vip_team: vips\n" + ROUTES)
    # When it is loaded / Then it is named with its line
    assert (error.line, error.detail) == (
        4,
        "assignment.vip_team: unknown team 'vips' (known: support)",
    )


def test_a_duplicate_member_is_reported() -> None:
    # Given a team listing alice twice, the second time on line 5
    error = rules_error(
        "teams:\n  support:\n    members:\n      - {name: alice}\n      - {name: alice}\n" + ROUTES
    )
    # When it is loaded / Then the second entry is named
    assert (error.line, error.detail) == (
        5,
        "teams.support.members[1].name: duplicate member 'alice'",
    )


def test_a_route_assign_needs_a_team_entry() -> None:
    # Given a route that asks for round-robin on a team without a teams: entry
    error = rules_error(
        """\
routes:
  - name: default
    team: support
    assign: round-robin
"""
    )
    # When it is loaded / Then the assign key is refused at its line
    assert (error.line, error.detail) == (
        4,
        "routes[0].assign: team 'support' has no teams: entry, so nobody to assign to",
    )


def test_an_unknown_strategy_is_refused() -> None:
    # Given a team with a strategy that does not exist, on line 3
    error = rules_error("teams:\n  support:\n    strategy: random\n" + ROUTES)
    # When it is loaded / Then the strategy is refused at its line
    assert error.line == 3
    assert "round-robin" in error.detail


def test_an_unknown_time_zone_is_reported_at_its_line() -> None:
    # Given a calendar with a time zone that does not exist, on line 3
    error = rules_error(
        "calendars:\n  mars:\n    timezone: Mars/Olympus\n    weekly: {mon: 09:00-17:00}\n" + ROUTES
    )
    # When it is loaded / Then the zone and its line are named
    assert (error.line, error.detail) == (
        3,
        "calendars.mars.timezone: unknown time zone 'Mars/Olympus' "
        "(an IANA name like Europe/Berlin)",
    )


def test_a_malformed_window_is_reported_at_its_line() -> None:
    # Given a window written as "9-5", on line 4
    error = rules_error("calendars:\n  office:\n    weekly:\n      mon: ['9-5']\n" + ROUTES)
    # When it is loaded / Then the window is refused with the expected form
    assert (error.line, error.detail) == (
        4,
        "calendars.office.weekly.mon[0]: window '9-5' is not like '09:00-17:00'",
    )


def test_an_unknown_subdivision_is_reported_at_its_line() -> None:
    # Given a calendar with a German subdivision that does not exist, on line 5
    error = rules_error(
        "calendars:\n  office:\n    weekly: {mon: 09:00-17:00}\n    country: DE\n"
        "    subdivision: XX\n" + ROUTES
    )
    # When it is loaded / Then the subdivision and its line are named
    assert error.line == 5
    assert error.detail.startswith("calendars.office.subdivision: no public holidays known")


def test_a_calendar_without_open_hours_is_refused() -> None:
    # Given a calendar whose only day has no windows
    error = rules_error("calendars:\n  never:\n    weekly: {mon: []}\n" + ROUTES)
    # When it is loaded / Then it is refused: the SLA clock would never run
    assert (error.line, error.detail) == (
        3,
        "calendars.never.weekly: a calendar needs at least one open window a week",
    )


def test_a_malformed_duration_is_reported_at_its_line() -> None:
    # Given an SLA target with "4 hours" instead of 4h, on line 3
    error = rules_error(
        "sla:\n  targets:\n    - {priority: high, first_response: 4 hours}\n" + ROUTES
    )
    # When it is loaded / Then the duration is refused with the accepted forms
    assert error.line == 3
    assert error.detail == (
        "sla.targets[0].first_response: duration '4 hours' is not like 30m, 4h, 2d or 1h30m"
    )


def test_a_second_target_for_the_same_priority_and_tier_is_refused() -> None:
    # Given two targets for high priority without a tier (the second on line 4)
    error = rules_error(
        "sla:\n  targets:\n    - {priority: high, first_response: 1h}\n"
        "    - {priority: high, resolution: 8h}\n" + ROUTES
    )
    # When it is loaded / Then the second is named
    assert (error.line, error.detail) == (
        4,
        "sla.targets[1]: priority high with no tier has a target already",
    )


def test_an_unknown_sla_priority_is_reported() -> None:
    # Given a target for a priority that does not exist
    error = rules_error("sla:\n  targets:\n    - {priority: urgent, first_response: 1h}\n" + ROUTES)
    # When it is loaded / Then the priority is named
    assert error.detail == (
        "sla.targets[0].priority: unknown priority 'urgent' (known: low, medium, high, critical)"
    )


def test_an_unknown_sla_tier_is_reported() -> None:
    # Given a target for a tier that is not declared
    error = rules_error(
        "sla:\n  targets:\n    - {priority: high, tier: gold, resolution: 8h}\n" + ROUTES
    )
    # When it is loaded / Then the tier is named
    assert error.detail == "sla.targets[0].tier: unknown tier 'gold' (known: vip)"


def test_an_unknown_escalation_destination_is_reported_at_its_line() -> None:
    # Given an escalation notifying a destination that is not declared, on line 4
    error = rules_error("sla:\n  escalation:\n    notify:\n      - slack-oncall\n" + ROUTES)
    # When it is loaded / Then the reference is named with its line
    assert error.line == 4
    assert error.detail.startswith("sla.escalation.notify[0]: unknown destination 'slack-oncall'")


def test_an_unknown_sla_calendar_is_reported() -> None:
    # Given an SLA counted on a calendar that is not declared
    error = rules_error(CALENDAR + "sla:\n  calendar: paris\n" + ROUTES)
    # When it is loaded / Then the calendar is named with its line
    assert (error.line, error.detail) == (
        6,
        "sla.calendar: unknown calendar 'paris' (known: berlin)",
    )


def test_a_business_hours_condition_names_a_known_calendar() -> None:
    # Given a route that holds after hours on a calendar that is not declared, on line 7
    error = rules_error(
        CALENDAR
        + """\
routes:
  - name: night
    when: {after_hours: london}
    team: night
  - name: default
    team: support
"""
    )
    # When it is loaded / Then the calendar and its line are named
    assert (error.line, error.detail) == (
        7,
        "routes[0].when.after_hours: unknown calendar 'london' (known: berlin)",
    )
