"""Assignment and the SLA clock at triage, in the store: loads, cursors, stability, events."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.rules import RuleSet, load_rules_text
from ingest.db import unit_of_work
from ingest.models import DecisionRecord, TeamCursor, Ticket
from tests.workers.store_tickets import new_ticket, timeline
from workers.triage.decide import triage_ticket

TEAMS_TEXT = (Path(__file__).parents[1] / "fixtures" / "rules" / "teams.yaml").read_text()
BERLIN = ZoneInfo("Europe/Berlin")
WEDNESDAY_10AM = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
SATURDAY_NOON = datetime(2026, 11, 28, 12, 0, tzinfo=BERLIN)


def rules(comment: str = "") -> RuleSet:
    """The teams rules; a different comment gives a new rules version, as an edit would."""
    return load_rules_text(TEAMS_TEXT + comment, source="teams.yaml")


def triage(
    sessions: sessionmaker[Session], ticket_id: int, rule_set: RuleSet, now: datetime
) -> None:
    with unit_of_work(sessions) as session:
        triage_ticket(session, ticket_id, rule_set, now)


def ticket(sessions: sessionmaker[Session], ticket_id: int) -> Ticket:
    with sessions() as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None
        return found


def test_round_robin_rotates_over_several_tickets(sessions: sessionmaker[Session]) -> None:
    # Given four new support tickets on a Wednesday morning
    ids = [new_ticket(sessions, WEDNESDAY_10AM) for _ in range(4)]
    # When each is triaged in turn
    for ticket_id in ids:
        triage(sessions, ticket_id, rules(), WEDNESDAY_10AM)
    # Then support's members take them in turn, and the stored cursor points past the last
    assert [ticket(sessions, i).assignee for i in ids] == ["alice", "bob", "carol", "alice"]
    with sessions() as session:
        cursor = session.get(TeamCursor, "support")
        assert cursor is not None and cursor.position == 1


def test_assignment_is_stable_when_triage_runs_again(sessions: sessionmaker[Session]) -> None:
    # Given a ticket triaged to alice, and the cursor since moved on by another ticket
    first = new_ticket(sessions, WEDNESDAY_10AM)
    triage(sessions, first, rules(), WEDNESDAY_10AM)
    triage(sessions, new_ticket(sessions, WEDNESDAY_10AM), rules(), WEDNESDAY_10AM)
    # When the rules change and the first ticket is triaged again
    triage(sessions, first, rules("# edited\n"), WEDNESDAY_10AM)
    # Then alice keeps it, both decisions name her, the cursor did not move again,
    # and the timeline has one assignment event
    assert (ticket(sessions, first).team, ticket(sessions, first).assignee) == ("support", "alice")
    with sessions() as session:
        assignees = session.execute(
            select(DecisionRecord.assignee)
            .where(DecisionRecord.ticket_id == first)
            .order_by(DecisionRecord.id)
        ).scalars()
        assert list(assignees) == ["alice", "alice"]
        cursor = session.get(TeamCursor, "support")
        assert cursor is not None and cursor.position == 2
    assert timeline(sessions, first) == ["Assigned to alice (team support, round-robin)."]


def test_open_tickets_in_the_store_count_against_capacity(
    sessions: sessionmaker[Session],
) -> None:
    # Given alice already holds two open tickets (her capacity) and a third, closed one
    held = [new_ticket(sessions, WEDNESDAY_10AM) for _ in range(3)]
    with sessions.begin() as session:
        for index, ticket_id in enumerate(held):
            row = session.get(Ticket, ticket_id)
            assert row is not None
            row.assignee, row.team = "alice", "support"
            row.status = "closed" if index == 2 else "open"
    # When a new ticket is triaged with the cursor at alice
    fresh = new_ticket(sessions, WEDNESDAY_10AM)
    triage(sessions, fresh, rules(), WEDNESDAY_10AM)
    # Then alice is passed over for bob
    assert ticket(sessions, fresh).assignee == "bob"


def test_a_closed_team_overflows_and_the_event_says_where(
    sessions: sessionmaker[Session],
) -> None:
    # Given a ticket on a Wednesday evening: Berlin closed, New York open
    evening = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
    ticket_id = new_ticket(sessions, evening)
    # When it is triaged
    triage(sessions, ticket_id, rules(), evening)
    # Then support-us has it, and the timeline says so
    stored = ticket(sessions, ticket_id)
    assert (stored.team, stored.assignee) == ("support-us", "dave")
    assert timeline(sessions, ticket_id) == ["Assigned to dave (team support-us, least-loaded)."]


def test_nobody_available_leaves_the_ticket_unassigned_without_an_event(
    sessions: sessionmaker[Session],
) -> None:
    # Given a ticket on a Saturday, when both support teams are closed
    ticket_id = new_ticket(sessions, SATURDAY_NOON)
    # When it is triaged
    triage(sessions, ticket_id, rules(), SATURDAY_NOON)
    # Then it waits on support, unassigned, with nothing on the timeline
    stored = ticket(sessions, ticket_id)
    assert (stored.team, stored.assignee) == ("support", None)
    assert timeline(sessions, ticket_id) == []


def test_triage_stores_the_sla_due_dates(sessions: sessionmaker[Session]) -> None:
    # Given a medium-priority ticket (4h / 2d) created Wednesday 10:00 in Berlin
    ticket_id = new_ticket(sessions, WEDNESDAY_10AM)
    # When it is triaged
    triage(sessions, ticket_id, rules(), WEDNESDAY_10AM)
    # Then its answer is due at 14:00 and its resolution 48 business hours later
    # (six 8-hour days: Wed 10:00 + 7h, Thu-Tue 5 x 8h, Wed 09:00 + 1h)
    stored = ticket(sessions, ticket_id)
    assert stored.priority == "medium"
    assert stored.first_response_due_at == datetime(2026, 11, 25, 14, 0, tzinfo=BERLIN)
    assert stored.resolution_due_at == datetime(2026, 12, 3, 10, 0, tzinfo=BERLIN)


def test_a_new_priority_moves_the_sla_due_dates(sessions: sessionmaker[Session]) -> None:
    # Given a medium ticket triaged, then rules that make the same ticket high priority
    ticket_id = new_ticket(sessions, WEDNESDAY_10AM)
    triage(sessions, ticket_id, rules(), WEDNESDAY_10AM)
    urgent = TEAMS_TEXT.replace(
        "categorize:",
        "prioritize:\n  rules:\n    - {name: all-high, priority: high}\ncategorize:",
    )
    # When it is triaged under those rules
    triage(sessions, ticket_id, load_rules_text(urgent), WEDNESDAY_10AM)
    # Then the high targets (1h / 8h) apply, counted from the ticket's creation
    stored = ticket(sessions, ticket_id)
    assert stored.priority == "high"
    assert stored.first_response_due_at == datetime(2026, 11, 25, 11, 0, tzinfo=BERLIN)
    assert stored.resolution_due_at == datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN)


def test_two_triages_at_once_take_different_turns(sessions: sessionmaker[Session]) -> None:
    # Given alice took the first ticket, and two more tickets for two workers
    triage(sessions, new_ticket(sessions, WEDNESDAY_10AM), rules(), WEDNESDAY_10AM)
    ids = [new_ticket(sessions, WEDNESDAY_10AM) for _ in range(2)]
    start = threading.Barrier(2)

    def worker(ticket_id: int) -> None:
        start.wait()
        triage(sessions, ticket_id, rules(), WEDNESDAY_10AM)

    # When both triage at the same moment
    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then the two tickets went to two different members, and the cursor moved twice
    assert sorted(ticket(sessions, i).assignee or "" for i in ids) == ["bob", "carol"]
    with sessions() as session:
        cursor = session.get(TeamCursor, "support")
        assert cursor is not None and cursor.position == 0
