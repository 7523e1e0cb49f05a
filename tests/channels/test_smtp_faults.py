"""SMTP transcripts for bounds and faults: per-client limits, a full writer, a bug in accept."""

from __future__ import annotations

import logging
import smtplib
import threading
from collections.abc import Sequence

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import channels.batch_writer
import channels.smtp
from channels.edge_metrics import EDGE_INTERNAL_ERRORS
from channels.smtp_limits import SmtpLimits
from ingest.accept import Accepted, accept_batch
from ingest.models import InboundRecord
from ingest.raw_inputs import RawInput
from tests.mail import customer_mail, wire
from tests.servers import smtp_edge, wait_until


def stored(sessions: sessionmaker[Session]) -> list[InboundRecord]:
    with sessions() as session:
        return list(session.execute(select(InboundRecord)).scalars())


def internal_errors() -> float:
    registry = CollectorRegistry()
    registry.register(EDGE_INTERNAL_ERRORS)
    return (
        registry.get_sample_value("omniroute_edge_internal_errors_total", {"channel": "email"}) or 0
    )


def test_a_bug_in_accept_answers_a_temporary_internal_error_with_traceback_and_count(
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given an accept path with a bug in it
    def broken(sessions: sessionmaker[Session], items: Sequence[RawInput]) -> list[Accepted]:
        raise KeyError("inbound_id")

    monkeypatch.setattr(channels.batch_writer, "accept_batch", broken)
    before = internal_errors()
    raw = wire(customer_mail(message_id="<bug@customer.test>"))
    with smtp_edge(sessions) as (_, port):
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.ehlo()
            client.mail("jane@customer.test")
            client.rcpt("support@example.com")
            # When a mail arrives
            code, reply = client.data(raw)
        # Then the sender is told to retry (not refused, not "store down")
        assert code == 451
        assert reply == b"4.3.0 Internal error, the message was not stored, try again later"
        # And the traceback is logged and the error counted
        [record] = [r for r in caplog.records if "internal error accepting" in r.getMessage()]
        assert record.levelno == logging.ERROR
        assert record.exc_info is not None and record.exc_info[0] is KeyError
        assert internal_errors() == before + 1
        # And once the bug is fixed the retried mail is stored: nothing was lost
        monkeypatch.setattr(channels.batch_writer, "accept_batch", accept_batch)
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail("jane@customer.test", ["support@example.com"], raw)
    [stored_record] = stored(sessions)
    assert stored_record.dedupe_key == "email:<bug@customer.test>"


def test_full_writer_queue_answers_busy_instead_of_growing(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a writer bounded to one waiting message, held up by a slow store
    release = threading.Event()

    def slow(sessions: sessionmaker[Session], items: Sequence[RawInput]) -> list[Accepted]:
        release.wait(timeout=60)
        return accept_batch(sessions, items)

    monkeypatch.setattr(channels.batch_writer, "accept_batch", slow)
    limits = SmtpLimits(max_message_bytes=1024 * 1024, max_pending_writes=1)
    first_reply: list[tuple[int, bytes]] = []
    with smtp_edge(sessions, limits=limits) as (handler, port):
        late = smtplib.SMTP("127.0.0.1", port)
        late.ehlo()
        late.mail("late@customer.test")
        late.rcpt("support@example.com")

        def send_first() -> None:
            with smtplib.SMTP("127.0.0.1", port) as client:
                client.ehlo()
                client.mail("jane@customer.test")
                client.rcpt("support@example.com")
                first_reply.append(client.data(wire(customer_mail())))

        sender = threading.Thread(target=send_first)
        sender.start()
        wait_until(lambda: handler.writer.pending == 1, what="first message waiting")
        # When a message completes DATA while the queue is full
        late_reply = late.data(wire(customer_mail()))
        # And another client starts a new mail
        with smtplib.SMTP("127.0.0.1", port) as other:
            other.ehlo()
            mail_reply = other.mail("other@customer.test")
        late.close()
        release.set()
        sender.join(timeout=60)
    # Then they are told the service is busy (temporary), and the waiting one is stored
    assert late_reply == (451, b"4.3.2 Too busy to store the message now, try again later")
    assert mail_reply == (421, b"4.3.2 Too busy to accept mail now, try again later")
    assert first_reply[0][0] == 250
    assert len(stored(sessions)) == 1


def test_connections_past_the_per_client_limit_get_421(sessions: sessionmaker[Session]) -> None:
    limits = SmtpLimits(max_connections_per_client=2)
    with smtp_edge(sessions, limits=limits) as (handler, port):
        # Given a client holding two connections
        first = smtplib.SMTP("127.0.0.1", port)
        second = smtplib.SMTP("127.0.0.1", port)
        # When it opens a third
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", port)
        # Then the greeting is 421 4.7.0 with a clear text
        assert refused.value.smtp_code == 421
        assert refused.value.smtp_error == (
            b"4.7.0 Too many connections from your address (2), try again later"
        )
        # And once one connection closes, a new one is welcome
        first.quit()
        wait_until(lambda: handler.clients.connections("127.0.0.1") == 1, what="close counted")
        with smtplib.SMTP("127.0.0.1", port) as third:
            assert third.noop()[0] == 250
        second.quit()


def test_messages_past_the_per_client_rate_get_421(sessions: sessionmaker[Session]) -> None:
    limits = SmtpLimits(max_messages_per_client_per_minute=2)
    with (
        smtp_edge(sessions, limits=limits) as (_, port),
        smtplib.SMTP("127.0.0.1", port) as client,
    ):
        # Given a client that sent two messages this minute
        for n in range(2):
            mail = wire(customer_mail(message_id=f"<rate{n}@customer.test>"))
            client.sendmail("jane@customer.test", ["support@example.com"], mail)
        # When it starts a third
        client.ehlo()
        code, reply = client.mail("jane@customer.test")
    # Then it is told to slow down, and the two are stored
    assert code == 421
    assert reply == b"4.7.0 Too many messages from your address (2 a minute), try again later"
    assert len(stored(sessions)) == 2


def test_a_bug_in_a_protocol_hook_answers_temporary_not_a_permanent_500(
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a bug before the message reaches the writer (computing its dedupe key)
    def broken(raw: bytes) -> str:
        raise IndexError("list index out of range")

    monkeypatch.setattr(channels.smtp, "email_dedupe_key", broken)
    before = internal_errors()
    with smtp_edge(sessions) as (_, port), smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo()
        client.mail("jane@customer.test")
        client.rcpt("support@example.com")
        # When a mail arrives
        code, reply = client.data(wire(customer_mail()))
    # Then the sender is told to retry, the traceback is logged and the error counted
    assert (code, reply) == (
        451,
        b"4.3.0 Internal error, the message was not stored, try again later",
    )
    [record] = [r for r in caplog.records if r.getMessage() == "internal error in the smtp edge"]
    assert record.exc_info is not None and record.exc_info[0] is IndexError
    assert internal_errors() == before + 1
    assert stored(sessions) == []
