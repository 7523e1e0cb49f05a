"""Specifications of the SLA clock: targets, due dates in business hours, breaches."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.rules import RuleSet, load_rules, load_rules_text
from router.sla import (
    FIRST_RESPONSE,
    RESOLUTION,
    Breach,
    SlaClock,
    breaches,
    bumped,
    due_dates,
    target_for,
)

TEAMS = Path(__file__).parents[1] / "fixtures" / "rules" / "teams.yaml"
BERLIN = ZoneInfo("Europe/Berlin")
FRIDAY_4PM = datetime(2026, 11, 27, 16, 0, tzinfo=BERLIN)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(TEAMS)


def rules_from(rules_text: str) -> RuleSet:
    return load_rules_text(textwrap.dedent(rules_text))


def test_priority_and_tier_target_wins_over_priority_alone(rules: RuleSet) -> None:
    # Given targets for high priority, and for high priority in the vip tier
    # When the target for a VIP's high-priority ticket is looked up
    vip = target_for(rules.sla, "high", "vip")
    plain = target_for(rules.sla, "high", None)
    # Then the VIP target applies to them and the plain one to others
    assert vip is not None and vip.first_response == timedelta(minutes=15)
    assert plain is not None and plain.first_response == timedelta(hours=1)


def test_a_tier_without_its_own_target_gets_the_priority_target(rules: RuleSet) -> None:
    # Given a critical ticket from a VIP (no critical+vip target exists)
    # When the target is looked up
    target = target_for(rules.sla, "critical", "vip")
    # Then the critical target applies
    assert target is not None and target.first_response == timedelta(minutes=30)


def test_a_priority_without_a_target_has_no_due_dates(rules: RuleSet) -> None:
    # Given no target for low priority
    # When due dates are computed
    due = due_dates(rules, "low", None, "support", FRIDAY_4PM)
    # Then nothing is due
    assert (due.first_response, due.resolution) == (None, None)
    assert due.why == "no SLA target for priority low"


def test_due_dates_count_the_teams_business_hours(rules: RuleSet) -> None:
    # Given a high-priority support ticket (1h / 8h) created Friday 16:00 in Berlin
    # When due dates are computed (support's calendar: weekdays 09:00-17:00)
    due = due_dates(rules, "high", None, "support", FRIDAY_4PM)
    # Then the answer is due Friday 17:00 and the resolution Monday 16:00
    assert due.first_response == datetime(2026, 11, 27, 17, 0, tzinfo=BERLIN)
    assert due.resolution == datetime(2026, 11, 30, 16, 0, tzinfo=BERLIN)
    assert (
        due.why == "priority high: first response 1h, resolution 8h, Europe/Berlin business hours"
    )


def test_due_dates_run_around_the_clock_for_a_team_without_a_calendar(rules: RuleSet) -> None:
    # Given a VIP's high-priority ticket on the VIP desk (no calendar), created Friday 16:00
    # When due dates are computed
    due = due_dates(rules, "high", "vip", "vip-desk", FRIDAY_4PM)
    # Then they are 15 minutes and 4 hours later in real time
    assert due.first_response == FRIDAY_4PM + timedelta(minutes=15)
    assert due.resolution == FRIDAY_4PM + timedelta(hours=4)


def test_the_sla_calendar_wins_over_the_teams() -> None:
    # Given an SLA counted on a New York calendar, for a team without one
    rules = rules_from(
        """\
        calendars:
          new-york:
            timezone: America/New_York
            weekly: {fri: "09:00-17:00", mon: "09:00-17:00"}
        sla:
          calendar: new-york
          targets:
            - {priority: medium, first_response: 2h}
        routes:
          - name: default
            team: support
        """
    )
    # When a ticket created Friday 16:00 New York time is due
    created = datetime(2026, 11, 27, 16, 0, tzinfo=ZoneInfo("America/New_York"))
    due = due_dates(rules, "medium", None, "support", created)
    # Then one hour counts on Friday and one on Monday, in New York
    assert due.first_response == datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    assert due.resolution is None


def clock(**changes: object) -> SlaClock:
    base = {
        "status": "open",
        "first_response_due_at": datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
        "resolution_due_at": datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
        "first_responded_at": None,
        "resolved_at": None,
    }
    return SlaClock(**{**base, **changes})  # type: ignore[arg-type]


def test_nothing_is_breached_before_the_due_date() -> None:
    # Given a ticket due at noon
    # When it is checked at 11:59
    # Then nothing is breached
    assert breaches(clock(), datetime(2026, 11, 27, 11, 59, tzinfo=UTC)) == ()


def test_a_missing_first_response_is_breached_at_its_due_date() -> None:
    # Given a ticket without an answer, due at noon
    # When it is checked at noon
    found = breaches(clock(), datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    # Then the first response target is breached
    assert found == (Breach(FIRST_RESPONSE, datetime(2026, 11, 27, 12, 0, tzinfo=UTC)),)


def test_an_answered_ticket_breaches_only_its_resolution() -> None:
    # Given a ticket answered in time but not resolved
    answered = clock(first_responded_at=datetime(2026, 11, 27, 11, 0, tzinfo=UTC))
    # When it is checked the day after the resolution was due
    found = breaches(answered, datetime(2026, 11, 29, 12, 0, tzinfo=UTC))
    # Then only the resolution target is breached
    assert [b.kind for b in found] == [RESOLUTION]


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "solved"},
        {"status": "closed"},
        {"resolved_at": datetime(2026, 11, 27, tzinfo=UTC)},
    ],
    ids=["solved", "closed", "resolved"],
)
def test_a_resolved_ticket_breaches_nothing(changes: dict[str, object]) -> None:
    # Given a ticket that was solved, closed or resolved without an answer
    # When it is checked long after both due dates
    # Then nothing is breached
    assert breaches(clock(**changes), datetime(2026, 12, 31, tzinfo=UTC)) == ()


def test_a_ticket_without_due_dates_breaches_nothing() -> None:
    # Given a ticket whose priority has no SLA target
    # When it is checked
    # Then nothing is breached
    no_targets = clock(first_response_due_at=None, resolution_due_at=None)
    assert breaches(no_targets, datetime(2026, 12, 31, tzinfo=UTC)) == ()


def test_priority_bumps_one_level_and_stops_at_critical() -> None:
    # Given each priority
    # When it is bumped
    # Then it rises one level, critical staying critical
    assert [bumped(p) for p in ("low", "medium", "high", "critical")] == [
        "medium",
        "high",
        "critical",
        "critical",
    ]
