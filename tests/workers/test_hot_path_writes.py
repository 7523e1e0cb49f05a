"""The worker's path from a stored mail to a routed, acknowledged ticket writes every row
with a statement of its own: the ORM's unit of work never has anything to flush there.

A flush of a changed or added object costs several times the statement it sends, so
the triage decision, the outbox rows, a new customer, a reply's bump of the ticket and
the acknowledgement's delivery state are Core statements on loaded objects. These tests
hold that, and that the rows hold what the flushes used to write.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import make_msgid
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.models import AutomatedSend, Customer, Identity, Message, Ticket
from tests.edge import accept_mail
from tests.harness import Pipeline
from tests.mail import customer_mail
from workers.outbound.acknowledge import PURPOSE as ACKNOWLEDGEMENT


@contextmanager
def flushes_with_work() -> Iterator[list[str]]:
    """What each flush that had something to write found pending, while inside."""
    seen: list[str] = []

    def before_flush(session: Session, *_: Any) -> None:
        pending = [*session.new, *session.dirty, *session.deleted]
        if pending:
            seen.append(", ".join(sorted(type(row).__name__ for row in pending)))

    event.listen(Session, "before_flush", before_flush)
    try:
        yield seen
    finally:
        event.remove(Session, "before_flush", before_flush)


def test_a_new_customers_mail_and_its_reply_are_written_without_a_flush(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    # Given a first mail from a customer never seen, and the customer's reply to it
    first_id = make_msgid(domain="customer.test")
    first = customer_mail(
        sender="Ada Lovelace <ada@newcustomer.test>",
        subject="I was charged twice",
        body="My card was charged twice for the same invoice. Please refund one.",
        message_id=first_id,
    )
    reply = customer_mail(
        sender="Ada Lovelace <ada@newcustomer.test>",
        subject="Re: I was charged twice",
        body="Any news on the refund?",
        in_reply_to=first_id,
        references=first_id,
    )
    pipe = Pipeline(settings, sessions)
    try:
        # When both are processed by the workers, one after the other
        with flushes_with_work() as flushes:
            accept_mail(sessions, bytes(first))
            pipe.drain()
            accept_mail(sessions, bytes(reply))
            pipe.drain()
        # Then no flush had anything to write
        assert flushes == []
        # And the rows hold what was decided and sent
        with sessions() as session:
            [ticket] = session.execute(select(Ticket)).scalars()
            assert (ticket.category, ticket.priority) == ("billing", "high")
            assert ticket.team is not None and ticket.language == "en"
            assert ticket.updated_at > ticket.created_at  # the reply bumped it
            [customer] = session.execute(select(Customer)).scalars()
            assert (customer.name, customer.email) == ("Ada Lovelace", "ada@newcustomer.test")
            [identity] = session.execute(select(Identity)).scalars()
            assert (identity.customer_id, identity.value) == (customer.id, "ada@newcustomer.test")
            [ack] = session.execute(
                select(Message).where(Message.kind == ACKNOWLEDGEMENT)
            ).scalars()
            assert ack.delivery_state == "sent" and ack.delivery_error is None
            assert ack.external_id == ack.message_id_header
            [send] = session.execute(select(AutomatedSend)).scalars()
            assert send.status == "sent" and send.sent_at is not None
        assert len(pipe.transport.sent) == 1
    finally:
        pipe.close()
