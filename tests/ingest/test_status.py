"""Ticket status changes: the timeline event, the clock fields, the work they queue."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.models import Message, OutboxEntry, Ticket, utcnow
from ingest.status import change_status, parse_status_event, status_event_text
from tests.mail import customer_mail
from tests.workers.desk_support import Desks, rules_with


@pytest.fixture
def desks(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Desks]:
    with Desks(settings, sessions, rules_with("  {}\n")) as harness:
        yield harness


def set_status(sessions: sessionmaker[Session], number: int, status: str, reason: str) -> None:
    with sessions.begin() as session:
        ticket = session.get(Ticket, number)
        assert ticket is not None
        change_status(session, ticket, status, reason)


def timeline(sessions: sessionmaker[Session], number: int) -> list[str]:
    with sessions() as session:
        events = select(Message).where(Message.ticket_id == number, Message.kind == "event")
        return [m.body_text for m in session.execute(events.order_by(Message.id)).scalars()]


def test_solving_records_the_change_sets_resolved_at_and_queues_its_hand_off(
    desks: Desks, sessions: sessionmaker[Session]
) -> None:
    # Given a new ticket
    ticket, _ = desks.ticket(customer_mail())
    # When it is solved
    set_status(sessions, ticket, "solved", "refund issued")
    # Then the timeline says so, resolved_at is set, and hand-off planning is queued
    assert timeline(sessions, ticket) == ["Status changed from new to solved: refund issued"]
    with sessions() as session:
        row = session.get(Ticket, ticket)
        assert row is not None
        assert (row.status, row.closed_at) == ("solved", None)
        assert row.resolved_at is not None
        work = session.execute(
            select(OutboxEntry).where(OutboxEntry.actor == "status_change")
        ).scalar_one()
        assert work.payload["ticket_id"] == ticket


def test_closing_sets_closed_at_and_reopening_clears_both_clocks(
    desks: Desks, sessions: sessionmaker[Session]
) -> None:
    # Given a ticket solved and then closed
    ticket, _ = desks.ticket(customer_mail())
    set_status(sessions, ticket, "solved", "")
    with sessions() as session:
        row = session.get(Ticket, ticket)
        assert row is not None
        solved_at = row.resolved_at
    set_status(sessions, ticket, "closed", "")
    with sessions() as session:
        row = session.get(Ticket, ticket)
        assert row is not None
        assert row.closed_at is not None
        assert row.resolved_at == solved_at
    # When it is reopened
    set_status(sessions, ticket, "open", "customer asked again")
    # Then neither clock is set any more
    with sessions() as session:
        row = session.get(Ticket, ticket)
        assert row is not None
        assert (row.status, row.closed_at, row.resolved_at) == ("open", None, None)


def test_setting_the_status_a_ticket_has_records_nothing(
    desks: Desks, sessions: sessionmaker[Session]
) -> None:
    # Given a new ticket
    ticket, _ = desks.ticket(customer_mail())
    # When its status is set to "new" again
    with sessions.begin() as session:
        row = session.get(Ticket, ticket)
        assert row is not None
        result = change_status(session, row, "new", "no-op")
    # Then no event is recorded
    assert result is None
    assert timeline(sessions, ticket) == []


def test_an_unknown_status_is_refused(desks: Desks, sessions: sessionmaker[Session]) -> None:
    # Given a ticket
    ticket, _ = desks.ticket(customer_mail())
    # When an unknown status is asked for, then it is refused by name
    with sessions.begin() as session:
        row = session.get(Ticket, ticket)
        assert row is not None
        with pytest.raises(ValueError, match="unknown status 'done'"):
            change_status(session, row, "done", "")


def test_a_reply_to_a_recently_closed_ticket_reopens_it_as_a_recorded_change(
    desks: Desks, sessions: sessionmaker[Session]
) -> None:
    # Given a ticket closed an hour ago
    ticket, _ = desks.ticket(customer_mail(subject="Help"))
    set_status(sessions, ticket, "closed", "done")
    with sessions.begin() as session:
        row = session.get(Ticket, ticket)
        assert row is not None
        row.closed_at = utcnow() - timedelta(hours=1)
    # When the customer replies on it
    reopened, _ = desks.receive(customer_mail(subject="Re: [Ticket #1] Help", body="Not fixed."))
    # Then the same ticket is open again and its timeline says why
    assert reopened == ticket
    assert (
        timeline(sessions, ticket)[-1] == "Status changed from closed to open: the customer replied"
    )


@pytest.mark.parametrize("status", ["pending", "solved"])
def test_a_reply_to_a_pending_or_solved_ticket_opens_it(
    desks: Desks, sessions: sessionmaker[Session], status: str
) -> None:
    # Given a ticket waiting on the customer, or solved
    ticket, _ = desks.ticket(customer_mail(subject="Help"))
    set_status(sessions, ticket, status, "")
    # When the customer replies
    desks.receive(customer_mail(subject="Re: [Ticket #1] Help", body="Here you go."))
    # Then it is open again
    with sessions() as session:
        row = session.get(Ticket, ticket)
        assert row is not None
        assert row.status == "open"


def test_the_event_text_reads_back_as_the_change() -> None:
    # Given the timeline text of a change with a reason that spans lines
    text = status_event_text("open", "pending", "waiting for\nthe invoice number")
    # When it is read back, then the same change comes out; other text gives None
    change = parse_status_event(text)
    assert change is not None
    assert (change.old, change.new, change.reason) == (
        "open",
        "pending",
        "waiting for the invoice number",
    )
    assert parse_status_event("Escalated to tier 2") is None
