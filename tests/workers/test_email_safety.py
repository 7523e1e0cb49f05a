"""Issue-3 email safety: signed references, non-participants, auto-replies, bounces, loops."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.models import AutomatedSend, Identity, InboundRecord, Message, Ticket, utcnow
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.workers.test_pipeline import count, send


@pytest.fixture
def pipeline(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Pipeline]:
    pipe = Pipeline(settings, sessions)
    yield pipe
    pipe.close()


def opened_ticket(pipeline: Pipeline, sessions: sessionmaker[Session], **mail: str) -> str:
    """Open ticket 1 and return the Message-ID of its acknowledgement."""
    send(sessions, bytes(customer_mail(**mail)))
    pipeline.drain()
    return str(pipeline.transport.sent[-1][0]["Message-ID"])


def last_inbound(sessions: sessionmaker[Session]) -> Message:
    with sessions() as session:
        return session.execute(
            select(Message)
            .where(Message.direction == "inbound")
            .order_by(Message.id.desc())
            .limit(1)
        ).scalar_one()


def test_a_colleague_replying_to_our_mail_threads_by_signed_message_id(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given ticket 1 and its acknowledgement
    ack_id = opened_ticket(pipeline, sessions)
    # When someone else, holding our mail, replies to it
    send(sessions, bytes(customer_mail(sender="boss@customer.test", in_reply_to=ack_id)))
    pipeline.drain()
    # Then the reply lands on ticket 1: the signature proves they hold our mail
    message = last_inbound(sessions)
    assert (message.ticket_id, message.thread_signal) == (1, "signed-message-id")


def test_a_forged_message_id_threads_nowhere(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given ticket 1 and its signed acknowledgement id
    ack_id = opened_ticket(pipeline, sessions)
    # When a stranger alters the ticket number inside it
    forged = ack_id.replace("<omniroute.1.", "<omniroute.2.")
    send(sessions, bytes(customer_mail(sender="mallory@evil.test", in_reply_to=forged)))
    pipeline.drain()
    # Then they get a new ticket
    assert last_inbound(sessions).ticket_id == 2


def test_mail_to_the_signed_reply_address_threads_from_any_sender(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given ticket 1, whose acknowledgement set a signed Reply-To
    opened_ticket(pipeline, sessions)
    reply_to = pipeline.transport.sent[-1][0]["Reply-To"].addresses[0].addr_spec
    assert reply_to.startswith("support+1-")
    # When a new mail (no headers, no tag) is sent to that address by someone else
    send(sessions, bytes(customer_mail(sender="partner@other.test", to=reply_to, subject="fyi")))
    pipeline.drain()
    # Then it threads onto ticket 1
    message = last_inbound(sessions)
    assert (message.ticket_id, message.thread_signal) == (1, "signed-reply-address")


def test_a_shared_message_id_does_not_merge_two_customers(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given jane forwarded a newsletter whose Message-ID is now stored on her ticket
    send(sessions, bytes(customer_mail(message_id="<newsletter-42@shop.test>")))
    pipeline.drain()
    # When another customer replies to the same newsletter
    send(
        sessions,
        bytes(customer_mail(sender="bob@else.test", in_reply_to="<newsletter-42@shop.test>")),
    )
    pipeline.drain()
    # Then bob gets his own ticket, and the record says why
    message = last_inbound(sessions)
    assert message.ticket_id == 2
    assert "not on it" in message.thread_detail


def test_out_of_office_reply_is_a_note_without_reopen_or_acknowledgement(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a closed ticket 1 and its acknowledgement
    ack_id = opened_ticket(pipeline, sessions)
    with sessions.begin() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None
        ticket.status, ticket.closed_at = "closed", utcnow()
    # When an out-of-office answers our acknowledgement
    ooo = customer_mail(
        subject="Automatic reply: Out of office",
        in_reply_to=ack_id,
        headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
    )
    send(sessions, bytes(ooo))
    pipeline.drain()
    # Then it is a note on ticket 1, the ticket stays closed, and nothing more is sent
    message = last_inbound(sessions)
    assert (message.ticket_id, message.kind) == (1, "auto-reply")
    with sessions() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None and ticket.status == "closed"
    assert len(pipeline.transport.sent) == 1
    assert count(sessions, Ticket) == 1


def test_a_bounce_attaches_to_its_ticket_and_marks_the_address(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given ticket 1 whose acknowledgement to jane bounced
    ack_id = opened_ticket(pipeline, sessions)
    dsn = bounce_for("jane@customer.test", ack_id)
    # When the delivery status notification arrives with a null envelope sender
    send(sessions, dsn, mail_from="")
    pipeline.drain()
    # Then it is a bounce note on ticket 1, and jane's address is marked as bouncing
    message = last_inbound(sessions)
    assert (message.ticket_id, message.kind, message.thread_signal) == (1, "bounce", "bounce")
    with sessions() as session:
        identity = session.execute(
            select(Identity).where(Identity.value == "jane@customer.test")
        ).scalar_one()
        assert identity.bouncing_since is not None
        assert "5.1.1" in (identity.bounce_reason or "")
    # And a new ticket from that address gets no acknowledgement
    send(sessions, bytes(customer_mail(subject="another question")))
    pipeline.drain()
    assert len(pipeline.transport.sent) == 1
    with sessions() as session:
        suppressed = session.execute(
            select(AutomatedSend).where(AutomatedSend.ticket_id == 2)
        ).scalar_one()
        assert suppressed.reason == "recipient address is bouncing"


def test_a_free_text_bounce_attaches_by_the_quoted_message_id(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given ticket 1 and a qmail-style bounce quoting our acknowledgement's headers
    ack_id = opened_ticket(pipeline, sessions)
    raw = (
        "From: MAILER-DAEMON@mx.customer.test\r\nTo: support@example.com\r\n"
        "Subject: failure notice\r\nMessage-ID: <b2@mx.customer.test>\r\n\r\n"
        "Hi. This is the qmail-send program. I'm afraid I wasn't able to deliver\r\n"
        "your message to the following addresses.\r\n\r\n<jane@customer.test>:\r\n"
        "550 5.1.1 mailbox unavailable\r\n\r\n--- Below this line is a copy of the message.\r\n\r\n"
        f"Message-ID: {ack_id}\r\nSubject: [Ticket #1] Re: Cannot log in\r\n"
    ).encode()
    # When it arrives
    send(sessions, raw, mail_from="")
    pipeline.drain()
    # Then it is a bounce note on ticket 1
    message = last_inbound(sessions)
    assert (message.ticket_id, message.kind) == (1, "bounce")


def test_our_own_mail_coming_back_is_quarantined(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given our acknowledgement, delivered back to our own inbox by a forwarding loop
    opened_ticket(pipeline, sessions)
    ack = pipeline.transport.sent[-1][0]
    inbound_id = send(sessions, bytes(ack))
    # When it is ingested
    pipeline.drain()
    # Then it is kept but quarantined as a loop, with no ticket and no new send
    with sessions() as session:
        record = session.get(InboundRecord, inbound_id)
        assert record is not None
        assert (record.status, record.status_reason) == (
            "quarantined",
            "our own outbound message came back (mail loop)",
        )
    assert count(sessions, Ticket) == 1
    assert len(pipeline.transport.sent) == 1


def test_reply_to_a_recently_closed_ticket_reopens_it(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given ticket 1 closed yesterday
    ack_id = opened_ticket(pipeline, sessions)
    close_ticket(sessions, days_ago=1)
    # When the customer replies
    send(sessions, bytes(customer_mail(in_reply_to=ack_id)))
    pipeline.drain()
    # Then ticket 1 is open again and holds the reply
    with sessions() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None and ticket.status == "open"
    assert last_inbound(sessions).ticket_id == 1


def test_reply_to_a_long_closed_ticket_opens_a_linked_one(
    pipeline: Pipeline, sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given ticket 1 closed longer ago than the reopen window
    ack_id = opened_ticket(pipeline, sessions)
    close_ticket(sessions, days_ago=settings.reopen_window_days + 1)
    # When the customer replies
    send(sessions, bytes(customer_mail(in_reply_to=ack_id)))
    pipeline.drain()
    # Then a new ticket linked to ticket 1 holds the reply, and ticket 1 stays closed
    with sessions() as session:
        old, new = session.get(Ticket, 1), session.get(Ticket, 2)
        assert old is not None and old.status == "closed"
        assert new is not None and new.linked_ticket_id == 1
    assert last_inbound(sessions).ticket_id == 2


def close_ticket(sessions: sessionmaker[Session], days_ago: int) -> None:
    with sessions.begin() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None
        ticket.status = "closed"
        ticket.closed_at = utcnow() - timedelta(days=days_ago)


def bounce_for(address: str, original_id: str) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.customer.test>\r\n"
        "To: support@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.customer.test>\r\nAuto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.test\r\n\r\n"
        f"Final-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original_id}\r\nSubject: [Ticket #1] Re: Cannot log in\r\n"
        "--B--\r\n"
    ).encode()
