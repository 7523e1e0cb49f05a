"""``omniroute replay`` decides as triage would: with the store's assignments and escalations,
read without writing or locking anything."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from config.rules import RuleSet, load_rules_text
from ingest.db import create_store_engine, session_factory, unit_of_work
from ingest.models import TeamCursor, Ticket
from tests.workers.store_tickets import new_ticket
from workers.sla.sweep import sweep
from workers.triage.assignment import routing_state
from workers.triage.decide import triage_ticket
from workers.triage.replay import replay

TEAMS_TEXT = (Path(__file__).parents[1] / "fixtures" / "rules" / "teams.yaml").read_text()
BERLIN = ZoneInfo("Europe/Berlin")
WEDNESDAY_10AM = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
# Berlin (support) and New York (support-us, its overflow) are both open.
WEDNESDAY_3PM = datetime(2026, 11, 25, 15, 0, tzinfo=BERLIN)
# Appended to the teams rules: every question about a workspace is low.
LOW_RULE = """
prioritize:
  match: highest
  default: medium
  rules:
    - name: workspace-is-low
      when: {keywords: [workspace]}
      priority: low
"""


def rules(comment: str = "") -> RuleSet:
    return load_rules_text(TEAMS_TEXT + comment, source="teams.yaml")


def triaged(sessions: sessionmaker[Session], at: datetime) -> int:
    ticket_id = new_ticket(sessions, at)
    with unit_of_work(sessions) as session:
        triage_ticket(session, ticket_id, rules(), at)
    return ticket_id


def cursors(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        rows = session.execute(select(TeamCursor.team, TeamCursor.position)).all()
        return {team: int(position) for team, position in rows}


def test_replay_compares_teams_with_the_assignments_in_the_store(
    sessions: sessionmaker[Session],
) -> None:
    # Given support's three agents full (two open tickets each), so a seventh ticket
    # overflowed to support-us
    ids = [triaged(sessions, WEDNESDAY_3PM) for _ in range(7)]
    with sessions() as session:
        query = select(Ticket.team).where(Ticket.id.in_(ids)).order_by(Ticket.id)
        teams = list(session.execute(query).scalars())
    assert teams == ["support"] * 6 + ["support-us"]
    before = cursors(sessions)
    # When the same rules, edited, are replayed
    report = replay(sessions, rules("# edited\n"))
    # Then no team would change: the replay saw who works each ticket
    assert report.tickets == 7
    assert report.counts["team"] == 0
    # And the round-robin cursors are as they were
    assert cursors(sessions) == before


def test_replay_keeps_the_priority_an_escalation_raised(sessions: sessionmaker[Session]) -> None:
    # Given a medium ticket the sweep raised to high
    ticket_id = triaged(sessions, WEDNESDAY_10AM)
    sweep(sessions, rules(), now=WEDNESDAY_3PM)
    # When rules that would make it low are replayed
    report = replay(sessions, rules(LOW_RULE))
    # Then, as triage would, the replay keeps it high: its priority would not change
    assert report.tickets == 1
    assert report.counts["priority"] == 0
    with sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.priority == "high"


def test_read_only_routing_state_creates_no_cursor(sessions: sessionmaker[Session]) -> None:
    # Given a store where no team has a round-robin cursor yet
    ticket_id = new_ticket(sessions, WEDNESDAY_10AM)
    # When routing state is read read-only and the transaction commits
    with unit_of_work(sessions) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        state = routing_state(session, ticket, rules(), read_only=True)
    # Then every team counts from the start and no cursor row was written
    assert dict(state.cursors) == {}
    assert cursors(sessions) == {}


def test_replay_runs_while_a_triage_holds_the_cursors(
    engine: Engine, sessions: sessionmaker[Session], database_url: str
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time; row locks are PostgreSQL's")
    # Given a triaged ticket, and a second triage in progress holding the cursor rows
    triaged(sessions, WEDNESDAY_3PM)
    waiting = new_ticket(sessions, WEDNESDAY_3PM)
    # A replay that waited on a lock would fail after this, instead of hanging
    bounded = create_store_engine(database_url, statement_timeout_ms=10_000)
    try:
        with unit_of_work(sessions) as held:
            triage_ticket(held, waiting, rules(), WEDNESDAY_3PM)
            # When a replay runs meanwhile
            report = replay(session_factory(bounded), rules("# edited\n"))
            # Then it finishes, over the tickets committed so far
            assert report.tickets == 2
            assert report.undecided == 1
    finally:
        bounded.dispose()
    with sessions() as session:
        assert session.execute(select(func.count(Ticket.id))).scalar_one() == 2
