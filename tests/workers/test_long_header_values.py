"""Header values longer than the store's columns are read as the message's contract says,
so the ingest never fails on them (PostgreSQL enforces column lengths; SQLite does not)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.db import unit_of_work
from ingest.models import Attachment, InboundRecord, Message, Ticket
from ingest.pipeline import process_inbound
from tests.workers.test_pipeline import send

LONG = "x" * 600


def mail(*, name: str = "Ann", message_id: str = "<m1@x.test>", extra: str = "") -> bytes:
    return (
        f"From: {name} <ann@example.org>\r\nTo: support@example.com\r\nSubject: Hello\r\n"
        f"Message-ID: {message_id}\r\n{extra}MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nHi there\r\n"
        f"--b\r\nContent-Type: application/pdf\r\nContent-ID: <{LONG}@c>\r\n"
        'Content-Disposition: attachment; filename="a.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b--\r\n"
    ).encode()


def ingest(sessions: sessionmaker[Session], settings: Settings, raw: bytes) -> Message:
    inbound_id = send(sessions, raw)
    with unit_of_work(sessions) as session:
        process_inbound(session, inbound_id, settings)
    with sessions() as session:
        record = session.get(InboundRecord, inbound_id)
        assert record is not None and record.status == "processed"
        return session.execute(select(Message).where(Message.inbound_id == inbound_id)).scalar_one()


def test_a_long_display_name_and_content_id_still_make_the_ticket(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given a mail whose sender's display name and attachment's Content-ID run to 600 characters
    message = ingest(sessions, settings, mail(name=LONG))
    with sessions() as session:
        ticket = session.get(Ticket, message.ticket_id)
        assert ticket is not None
        # Then the customer keeps the name's first 200 characters
        assert ticket.customer.name == "x" * 200
        # And the attachment is kept without the id no cid: link could name
        [attachment] = session.execute(select(Attachment)).scalars().all()
        assert (attachment.filename, attachment.content_id) == ("a.pdf", None)


def test_message_ids_longer_than_the_store_keeps_are_read_as_absent(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given a mail whose Message-ID runs to 600 characters, and a reply naming it
    long_id = f"<{LONG}@x.test>"
    original = ingest(sessions, settings, mail(message_id=long_id))
    naming = f"In-Reply-To: {long_id}\r\nReferences: {long_id}\r\n"
    reply = ingest(sessions, settings, mail(message_id="<m2@x.test>", extra=naming))
    # Then the original is kept under an id of its own, and the reply names none
    assert original.message_id_header != long_id
    assert len(original.message_id_header or "") <= 512
    assert reply.in_reply_to is None
