"""Planning follow-up hand-offs: which messages follow a ticket, to which destinations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.models import Delivery, Message
from tests.mail import customer_mail
from tests.workers.desk_support import Desks, rules_with
from workers.delivery.followups import plan_followups
from workers.delivery.planning import MESSAGE_APPENDED, TICKET_CREATED

DESTINATIONS = """
  hook:
    type: webhook
    url: https://desk.example.test/hook
    secret_env: OMNIROUTE_TEST_UNUSED_SECRET
  other:
    type: webhook
    url: https://other.example.test/hook
    secret_env: OMNIROUTE_TEST_UNUSED_SECRET
"""


@pytest.fixture
def desks(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Desks]:
    with Desks(settings, sessions, rules_with(DESTINATIONS)) as harness:
        yield harness


def planned(sessions: sessionmaker[Session]) -> set[tuple[str, int, str]]:
    with sessions() as session:
        rows = session.execute(select(Delivery)).scalars()
        return {(d.destination, d.message_id, d.event) for d in rows}


def test_a_customer_message_is_planned_for_each_destination_that_got_the_ticket(
    desks: Desks, sessions: sessionmaker[Session]
) -> None:
    # Given a ticket planned to "hook" only
    ticket, first = desks.ticket(customer_mail(subject="Help"))
    desks.plan(ticket, first, "hook", TICKET_CREATED)
    _, reply = desks.receive(customer_mail(subject="Re: [Ticket #1] Help", body="More."))
    # When its follow-ups are planned, twice (the work ran again)
    with sessions.begin() as session:
        plan_followups(session, ticket, reply)
    with sessions.begin() as session:
        again = plan_followups(session, ticket, reply)
    # Then "hook" gets one message.appended of the reply, "other" nothing
    assert planned(sessions) == {
        ("hook", first, TICKET_CREATED),
        ("hook", reply, MESSAGE_APPENDED),
    }
    assert again == []


def test_a_reply_that_arrived_before_routing_follows_the_ticket(
    desks: Desks, sessions: sessionmaker[Session]
) -> None:
    # Given a reply already on the ticket before it was routed anywhere
    ticket, first = desks.ticket(customer_mail(subject="Help"))
    _, reply = desks.receive(customer_mail(subject="Re: [Ticket #1] Help", body="More."))
    with sessions.begin() as session:
        assert plan_followups(session, ticket, reply) == []
    # When routing plans the ticket to "other"
    desks.plan(ticket, first, "other", TICKET_CREATED)
    # Then the reply is planned to follow it there
    assert planned(sessions) == {
        ("other", first, TICKET_CREATED),
        ("other", reply, MESSAGE_APPENDED),
    }


@pytest.mark.parametrize("kind", ["auto-reply", "bounce"])
def test_notes_that_are_not_the_customer_writing_are_not_handed_off(
    desks: Desks, sessions: sessionmaker[Session], kind: str
) -> None:
    # Given a routed ticket, and a later inbound message that is an auto-reply or a bounce
    ticket, first = desks.ticket(customer_mail(subject="Help"))
    desks.plan(ticket, first, "hook", TICKET_CREATED)
    _, note = desks.receive(customer_mail(subject="Re: [Ticket #1] Help", body="Away."))
    with sessions.begin() as session:
        message = session.get(Message, note)
        assert message is not None
        message.kind = kind
    # When its follow-ups are planned
    with sessions.begin() as session:
        result = plan_followups(session, ticket, note)
    # Then nothing is planned
    assert result == []
    assert planned(sessions) == {("hook", first, TICKET_CREATED)}
