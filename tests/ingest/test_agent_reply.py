"""An agent's reply in the store: the outbound message, the SLA clock, status, queued send."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.rules import RuleSet, load_rules_text
from ingest import outbox
from ingest.agent_reply import MAX_BODY_CHARS, ReplyRequest, record_reply
from ingest.db import unit_of_work
from ingest.models import Identity, Message, OutboxEntry, SlaBreach, Ticket, utcnow
from ingest.reply_author import UnsafeAuthor
from tests.workers.store_tickets import new_ticket, timeline
from workers.sla.sweep import sweep
from workers.triage.decide import triage_ticket

TEAMS_TEXT = (Path(__file__).parents[1] / "fixtures" / "rules" / "teams.yaml").read_text()
BERLIN = ZoneInfo("Europe/Berlin")
WEDNESDAY_10AM = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
# The medium target answers within 4 business hours (Wednesday 14:00), resolves in 2 days.
WEDNESDAY_3PM = datetime(2026, 11, 25, 15, 0, tzinfo=BERLIN)


def rules() -> RuleSet:
    return load_rules_text(TEAMS_TEXT, source="teams.yaml")


def triaged_ticket(sessions: sessionmaker[Session]) -> int:
    ticket_id = new_ticket(sessions, WEDNESDAY_10AM)
    with unit_of_work(sessions) as session:
        triage_ticket(session, ticket_id, rules(), WEDNESDAY_10AM)
    return ticket_id


def reply(
    sessions: sessionmaker[Session], number: int, body: str = "Try again now.", **fields: str
) -> Message | None:
    with unit_of_work(sessions) as session:
        return record_reply(
            session, number, ReplyRequest(body=body, author=fields.pop("author", "alice"), **fields)
        )


def stored(sessions: sessionmaker[Session], number: int) -> Ticket:
    with sessions() as session:
        ticket = session.get(Ticket, number)
        assert ticket is not None
        return ticket


def send_work(sessions: sessionmaker[Session]) -> list[dict[str, object]]:
    with sessions() as session:
        rows = session.execute(
            select(OutboxEntry.payload).where(OutboxEntry.actor == outbox.SEND_REPLY)
        ).scalars()
        return [dict(row) for row in rows]


def test_a_reply_is_stored_as_outbound_message_with_its_send_queued(
    sessions: sessionmaker[Session],
) -> None:
    # Given a new ticket from jane
    number = new_ticket(sessions, WEDNESDAY_10AM)
    # When alice replies
    message = reply(sessions, number, "Please try again now.")
    # Then the reply is an outbound message from alice to jane, and its send is queued
    assert message is not None
    with sessions() as session:
        row = session.get(Message, message.id)
        assert row is not None
        assert (row.direction, row.kind, row.channel) == ("outbound", "reply", "email")
        assert (row.sender, row.recipient, row.body_text) == (
            "alice",
            "jane@customer.test",
            "Please try again now.",
        )
        assert row.external_id is None
    assert send_work(sessions) == [{"message_id": message.id}]


def test_the_first_reply_stops_the_first_response_clock(sessions: sessionmaker[Session]) -> None:
    # Given a triaged medium ticket, its first response due Wednesday 14:00
    number = triaged_ticket(sessions)
    assert stored(sessions, number).first_response_due_at is not None
    # When an agent replies
    before = utcnow()
    reply(sessions, number)
    # Then the first response is recorded and the sweep does not escalate it once due
    responded = stored(sessions, number).first_responded_at
    assert responded is not None and responded >= before
    assert sweep(sessions, rules(), now=WEDNESDAY_3PM) == 0
    with sessions() as session:
        assert session.execute(select(SlaBreach)).first() is None


def test_a_later_reply_keeps_the_first_response_time(sessions: sessionmaker[Session]) -> None:
    # Given a ticket answered once
    number = triaged_ticket(sessions)
    reply(sessions, number, "First answer.")
    first = stored(sessions, number).first_responded_at
    # When a second reply follows
    reply(sessions, number, "Second answer.", author="bob")
    # Then the first response time is the first reply's
    assert stored(sessions, number).first_responded_at == first


def test_a_reply_to_a_new_ticket_opens_it(sessions: sessionmaker[Session]) -> None:
    # Given a new ticket
    number = new_ticket(sessions, WEDNESDAY_10AM)
    # When alice replies without a status
    reply(sessions, number)
    # Then it is open, and the timeline says who opened it
    assert stored(sessions, number).status == "open"
    assert timeline(sessions, number) == ["Status changed from new to open: alice replied"]


def test_a_reply_can_set_the_ticket_pending(sessions: sessionmaker[Session]) -> None:
    # Given a new ticket
    number = new_ticket(sessions, WEDNESDAY_10AM)
    # When alice replies and asks the customer for something
    reply(sessions, number, "Which browser do you use?", status="pending")
    # Then the ticket waits on the customer, through one recorded status change
    assert stored(sessions, number).status == "pending"
    assert timeline(sessions, number) == ["Status changed from new to pending: alice replied"]
    with sessions() as session:
        actors = session.execute(select(OutboxEntry.actor).order_by(OutboxEntry.id)).scalars()
        assert sorted(actors) == [outbox.SEND_REPLY, outbox.STATUS_CHANGE]


def test_a_solving_reply_stops_the_resolution_clock(sessions: sessionmaker[Session]) -> None:
    # Given a triaged ticket
    number = triaged_ticket(sessions)
    # When alice answers and solves it
    reply(sessions, number, "Fixed on our side.", status="solved")
    # Then it is resolved, and the sweep leaves it alone long after both due dates
    ticket = stored(sessions, number)
    assert ticket.status == "solved"
    assert ticket.resolved_at is not None
    assert ticket.first_responded_at is not None
    assert sweep(sessions, rules(), now=WEDNESDAY_3PM + timedelta(days=30)) == 0


def test_a_reply_to_a_bouncing_address_is_stored_but_not_queued(
    sessions: sessionmaker[Session],
) -> None:
    # Given a ticket whose customer's address bounces
    number = new_ticket(sessions, WEDNESDAY_10AM)
    with sessions.begin() as session:
        session.add(
            Identity(
                customer_id=stored(sessions, number).customer_id,
                kind="email",
                value="jane@customer.test",
                bouncing_since=utcnow(),
                bounce_reason="5.1.1 user unknown",
            )
        )
    # When alice replies
    message = reply(sessions, number)
    # Then the answer is kept (the clock stops) with the reason it will not be sent
    assert message is not None
    assert message.warnings == ["not sent: mail to jane@customer.test bounces"]
    assert stored(sessions, number).first_responded_at is not None
    assert send_work(sessions) == []


def test_a_reply_to_an_unknown_ticket_stores_nothing(sessions: sessionmaker[Session]) -> None:
    # Given an empty store; when a reply names ticket 42, then nothing is stored
    assert reply(sessions, 42) is None
    with sessions() as session:
        assert session.execute(select(Message)).first() is None
        assert session.execute(select(OutboxEntry)).first() is None


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"body": "   ", "author": "alice"}, "must not be empty"),
        ({"body": "a\x00b", "author": "alice"}, "must not contain NUL"),
        ({"body": "x" * (MAX_BODY_CHARS + 1), "author": "alice"}, "at most 64000 characters"),
        ({"body": "Hi", "author": 7}, "Input should be a valid string"),
        ({"body": "Hi", "author": "alice", "status": "closed"}, "'pending' or 'solved'"),
        ({"body": "Hi", "author": "alice", "cc": "bob"}, "Extra inputs are not permitted"),
    ],
)
def test_a_reply_request_refuses_bad_input(fields: dict[str, str], problem: str) -> None:
    # Given a request with one bad field; when it is validated, then the problem is named
    with pytest.raises(ValidationError, match=problem):
        ReplyRequest.model_validate(fields)


@pytest.mark.parametrize("author", ["alice\r\nBcc: x@evil.test", "<evil@attacker.test>", None])
def test_a_reply_with_an_unchecked_author_is_never_stored(
    sessions: sessionmaker[Session], author: str | None
) -> None:
    # Given jane's ticket
    number = new_ticket(sessions, WEDNESDAY_10AM)
    # When a reply whose author is missing or unfit for a From header is recorded
    with pytest.raises(UnsafeAuthor), unit_of_work(sessions) as session:
        record_reply(session, number, ReplyRequest(body="Hi", author=author))
    # Then nothing is stored and nothing is queued
    with sessions() as session:
        kinds = session.execute(select(Message.kind)).scalars().all()
    assert kinds == ["message"]
    assert send_work(sessions) == []
