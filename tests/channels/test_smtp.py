"""SMTP transcripts against the real aiosmtpd edge with a real smtplib client."""

from __future__ import annotations

import smtplib
import sqlite3
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from ingest.db import create_store_engine, session_factory
from ingest.models import InboundRecord, OutboxEntry
from ingest.ops_queries import refusals_by_reason
from ingest.refusals import REFUSALS
from tests.mail import customer_mail, wire
from tests.servers import smtp_edge

UNREACHABLE_DB = "postgresql+psycopg://postgres@127.0.0.1:1/none"


def stored(sessions: sessionmaker[Session]) -> list[InboundRecord]:
    with sessions() as session:
        return list(session.execute(select(InboundRecord)).scalars())


def test_accepted_mail_is_committed_with_an_outbox_row_before_250(
    sessions: sessionmaker[Session],
) -> None:
    mail = customer_mail(message_id="<one@customer.test>")
    with smtp_edge(sessions) as (_, port), smtplib.SMTP("127.0.0.1", port) as client:
        # When a client sends a mail to a configured recipient
        client.ehlo()
        client.mail("jane@customer.test")
        client.rcpt("support@example.com")
        code, reply = client.data(wire(mail))
    # Then the reply is 250 and the raw bytes, envelope and outbox row are in the store
    assert code == 250
    assert b"queued as" in reply
    [record] = stored(sessions)
    assert record.dedupe_key == "email:<one@customer.test>"
    assert record.envelope["mail_from"] == "jane@customer.test"
    assert record.envelope["rcpt_tos"] == ["support@example.com"]
    assert b"Message-ID: <one@customer.test>" in record.raw
    with sessions() as session:
        entry = session.execute(select(OutboxEntry)).scalar_one()
    assert (entry.actor, entry.payload) == ("ingest", {"inbound_id": record.id})


def test_plus_addressed_recipient_is_accepted(sessions: sessionmaker[Session]) -> None:
    with smtp_edge(sessions) as (_, port), smtplib.SMTP("127.0.0.1", port) as client:
        # When the recipient carries a plus extension
        code, _ = client.ehlo()
        client.mail("jane@customer.test")
        code, _ = client.rcpt("Support+1234@Example.com")
    # Then it is accepted like the base address
    assert code == 250


def test_unknown_recipient_is_refused_with_550(sessions: sessionmaker[Session]) -> None:
    with smtp_edge(sessions) as (_, port), smtplib.SMTP("127.0.0.1", port) as client:
        # When a client names a mailbox we do not serve
        client.ehlo()
        client.mail("jane@customer.test")
        code, reply = client.rcpt("nobody@example.com")
    # Then RCPT is refused with 550 5.1.1 and nothing is stored
    assert code == 550
    assert reply.startswith(b"5.1.1")
    assert stored(sessions) == []
    # And the refusal is counted by reason, in memory until the process's next flush
    assert REFUSALS.pending() == {("email", "unknown recipient"): 1}
    assert refusals_by_reason_now(sessions) == []
    assert REFUSALS.flush(sessions) == 1
    assert refusals_by_reason_now(sessions) == [("email", "unknown recipient", 1)]


def refusals_by_reason_now(sessions: sessionmaker[Session]) -> list[tuple[str, str, int]]:
    with sessions() as session:
        return refusals_by_reason(session)


def test_oversize_mail_is_refused_with_552(sessions: sessionmaker[Session]) -> None:
    big = customer_mail(body="x" * 80 + "\n" * 1 + ("y" * 76 + "\n") * 30_000)
    with (
        smtp_edge(sessions, max_bytes=64 * 1024) as (_, port),
        smtplib.SMTP("127.0.0.1", port) as client,
    ):
        # When a client sends more than the size limit
        client.ehlo()
        client.mail("jane@customer.test")
        client.rcpt("support@example.com")
        code, reply = client.data(wire(big))
    # Then DATA is refused with our 552 naming the limit, and nothing is stored
    assert code == 552
    assert reply == b"5.3.4 Message exceeds the size limit of 65536 bytes"
    assert stored(sessions) == []


def test_declared_oversize_is_refused_at_mail_with_552(sessions: sessionmaker[Session]) -> None:
    with (
        smtp_edge(sessions, max_bytes=64 * 1024) as (_, port),
        smtplib.SMTP("127.0.0.1", port) as client,
    ):
        # When a client declares a size over the limit (RFC 1870 SIZE)
        client.ehlo()
        code, reply = client.mail("jane@customer.test", ["SIZE=70000"])
    # Then MAIL is refused with our 552 before any data is sent
    assert code == 552
    assert reply == b"5.3.4 Message exceeds the size limit of 65536 bytes"


def test_long_line_is_accepted_and_stored_byte_for_byte(sessions: sessionmaker[Session]) -> None:
    # Given a real client's mail with one 4,464-character line (RFC 5322 asks for at most
    # 998, but mail servers such as Postfix accept longer lines and so do senders' MTAs)
    long_line = "<p>Hi, " + "Lorem ipsum dolor sit amet. " * 159 + "!</p>"
    assert len(long_line) == 4_464
    raw = (
        b"From: Jane <jane@customer.test>\r\nTo: support@example.com\r\n"
        b"Subject: long line\r\nMessage-ID: <long@customer.test>\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        + long_line.encode()
        + b"\r\n.leading dot\r\n"
    )
    with smtp_edge(sessions) as (_, port), smtplib.SMTP("127.0.0.1", port) as client:
        # When it is sent over SMTP
        client.ehlo()
        client.mail("jane@customer.test")
        client.rcpt("support@example.com")
        code, _ = client.data(raw)
    # Then it is accepted and stored exactly as sent (dot-stuffing undone, nothing rewrapped)
    assert code == 250
    [record] = stored(sessions)
    assert record.raw == raw
    assert max(len(line) for line in record.raw.split(b"\r\n")) == 4_464


def test_line_longer_than_the_size_limit_is_refused_with_552(
    sessions: sessionmaker[Session],
) -> None:
    with (
        smtp_edge(sessions, max_bytes=64 * 1024) as (_, port),
        smtplib.SMTP("127.0.0.1", port) as client,
    ):
        # When one line alone is larger than the size limit
        client.ehlo()
        client.mail("jane@customer.test")
        client.rcpt("support@example.com")
        code, reply = client.data(b"Subject: x\r\n\r\n" + b"y" * 70_000 + b"\r\n")
    # Then it is refused as too big (not "500 Line too long"), and nothing is stored
    assert (code, reply) == (552, b"5.3.4 Message exceeds the size limit of 65536 bytes")
    assert stored(sessions) == []


def test_resent_mail_is_stored_once(sessions: sessionmaker[Session]) -> None:
    raw = wire(customer_mail(message_id="<resent@customer.test>"))
    with smtp_edge(sessions) as (_, port):
        for _ in range(2):
            with smtplib.SMTP("127.0.0.1", port) as client:
                # When the same mail is sent twice (a client that lost our first 250)
                client.sendmail("jane@customer.test", ["support@example.com"], raw)
    # Then one record exists
    assert len(stored(sessions)) == 1


def test_store_unreachable_answers_451_and_retry_succeeds(
    sessions: sessionmaker[Session],
) -> None:
    # Given an SMTP edge whose store cannot be reached
    down = create_store_engine(UNREACHABLE_DB, statement_timeout_ms=1000)
    raw = wire(customer_mail(message_id="<retry@customer.test>"))
    with smtp_edge(session_factory(down)) as (handler, port):
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.ehlo()
            client.mail("jane@customer.test")
            client.rcpt("support@example.com")
            # When a mail arrives
            code, reply = client.data(raw)
        # Then the sender is told to retry, not "ok"
        assert code == 451
        assert reply.startswith(b"4.3.0")
        # And when the store is back, the retried mail is accepted and stored
        handler.writer.sessions = sessions
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail("jane@customer.test", ["support@example.com"], raw)
    down.dispose()
    [record] = stored(sessions)
    assert record.dedupe_key == "email:<retry@customer.test>"


@pytest.fixture
def locked_store(engine: Engine, database_url: str) -> Iterator[None]:
    """Hold the store's write lock from another connection, as a stuck writer would."""
    if engine.dialect.name == "sqlite":
        path = database_url.split("///", 1)[1]
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
    else:
        with engine.connect() as conn:
            trans = conn.begin()
            conn.execute(text("LOCK TABLE inbound IN ACCESS EXCLUSIVE MODE"))
            try:
                yield
            finally:
                trans.rollback()


def test_store_locked_past_the_timeout_answers_451(database_url: str, locked_store: None) -> None:
    # Given a store whose write lock is held longer than the edge will wait
    edge_engine = create_store_engine(database_url, statement_timeout_ms=300)
    with (
        smtp_edge(session_factory(edge_engine)) as (_, port),
        smtplib.SMTP("127.0.0.1", port) as client,
    ):
        client.ehlo()
        client.mail("jane@customer.test")
        client.rcpt("support@example.com")
        # When a mail arrives
        code, _ = client.data(wire(customer_mail()))
    edge_engine.dispose()
    # Then the sender is told to try again later
    assert code == 451
