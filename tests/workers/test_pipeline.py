"""The actors end to end on a StubBroker: ingest, triage, acknowledge, deliver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.rules import load_rules_text
from config.settings import Settings
from ingest.accept import accept_raw
from ingest.models import AutomatedSend, Delivery, InboundRecord, Message, Ticket
from ingest.views import show_ticket
from normalize.dedupe import email_dedupe_key
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.workers.webhook_receiver import WebhookReceiver

SECRET = "test-secret"


def rules_for(url: str, max_attempts: int = 5) -> str:
    return f"""
format: 1
destinations:
  helpdesk:
    type: webhook
    url: {url}
    secret_env: OMNIROUTE_TEST_WEBHOOK_SECRET
    max_attempts: {max_attempts}
    backoff_base_seconds: 0.05
    backoff_max_seconds: 0.2
categorize:
  match: first
  default: general
  rules:
    - name: billing-words
      when: {{keywords: [refund, invoice]}}
      category: billing
routes:
  - name: default
    team: support
    destinations: [helpdesk]
"""


@pytest.fixture
def pipeline(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Pipeline]:
    pipe = Pipeline(settings, sessions)
    yield pipe
    pipe.close()


def send(sessions: sessionmaker[Session], raw: bytes, mail_from: str | None = None) -> int:
    """Accept ``raw`` as the SMTP edge would; ``mail_from=""`` is a null sender (a bounce)."""
    envelope: dict[str, object] = {"rcpt_tos": ["support@example.com"]}
    if mail_from is not None:
        envelope["mail_from"] = mail_from
    accepted = accept_raw(
        sessions,
        channel="email",
        dedupe_key=email_dedupe_key(raw),
        raw=raw,
        envelope=envelope,
    )
    return accepted.inbound_id


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_new_mail_becomes_ticket_with_decision_and_acknowledgement(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a customer mail accepted at the edge
    send(sessions, bytes(customer_mail(subject="Refund please", body="Please refund my invoice.")))
    # When the workers run
    pipeline.drain()
    # Then there is one ticket, categorized, with its reasons, and one acknowledgement
    with sessions() as session:
        view = show_ticket(session, 1)
    assert view is not None
    assert view["category"] == "billing"
    assert view["customer"]["email"] == "jane@customer.test"
    assert any(
        r["rule"] == "billing-keywords" and r["matched"] for r in view["decision"]["reasons"]
    )
    assert view["threading"]["signal"] == "new-ticket"
    [(ack, recipients)] = pipeline.transport.sent
    assert recipients == ["jane@customer.test"]
    assert "[Ticket #1]" in ack["Subject"]
    assert ack["Auto-Submitted"] == "auto-replied"


def test_the_same_message_twice_makes_one_ticket_message(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given the same raw mail accepted twice (a client resending after a lost 250)
    raw = bytes(customer_mail(message_id="<same@customer.test>"))
    first, second = send(sessions, raw), send(sessions, raw)
    # When the workers run, and the ingest actor is even asked twice
    pipeline.drain()
    pipeline.runtime.broker.actors["ingest"].send(inbound_id=first)
    pipeline.drain()
    # Then one inbound record, one ticket, one message, one acknowledgement
    assert first == second
    assert count(sessions, InboundRecord) == 1
    assert count(sessions, Ticket) == 1
    with sessions() as session:
        inbound = session.execute(
            select(func.count()).where(Message.direction == "inbound")
        ).scalar_one()
    assert inbound == 1
    assert len(pipeline.transport.sent) == 1


def test_reply_to_acknowledgement_threads_by_its_signed_message_id(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a ticket whose acknowledgement went out
    send(sessions, bytes(customer_mail()))
    pipeline.drain()
    ack_id = pipeline.transport.sent[0][0]["Message-ID"]
    # When the customer replies to the acknowledgement (no tag in the subject)
    send(sessions, bytes(customer_mail(subject="Re: still broken", in_reply_to=ack_id)))
    pipeline.drain()
    # Then the reply is on ticket 1, threaded by our signed Message-ID; no second ticket
    assert count(sessions, Ticket) == 1
    with sessions() as session:
        view = show_ticket(session, 1)
    assert view is not None
    signals = [m["thread_signal"] for m in view["messages"] if m["direction"] == "inbound"]
    assert signals == ["new-ticket", "signed-message-id"]


def test_references_to_an_earlier_inbound_message_thread(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a ticket opened by a message with a known Message-ID
    send(sessions, bytes(customer_mail(message_id="<first@customer.test>")))
    pipeline.drain()
    # When a later mail names it only in References
    later = customer_mail(subject="more info", references="<unknown@x.test> <first@customer.test>")
    send(sessions, bytes(later))
    pipeline.drain()
    # Then it lands on the same ticket via References
    with sessions() as session:
        messages = session.execute(select(Message).where(Message.direction == "inbound")).scalars()
        assert [(m.ticket_id, m.thread_signal) for m in messages] == [
            (1, "new-ticket"),
            (1, "references"),
        ]


def test_subject_tag_from_the_same_sender_threads(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given ticket 1 opened by jane
    send(sessions, bytes(customer_mail()))
    pipeline.drain()
    # When jane writes a new mail tagged with the ticket number, Re:/AW: chains included
    send(sessions, bytes(customer_mail(subject="AW: RE: [ticket # 1] one more thing")))
    pipeline.drain()
    # Then it threads by the subject tag
    with sessions() as session:
        last = session.execute(select(Message).order_by(Message.id.desc()).limit(1)).scalar_one()
        assert (last.ticket_id, last.thread_signal) == (1, "subject-tag")


def test_subject_tag_from_a_stranger_opens_a_new_ticket_that_mentions_it(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given ticket 1 opened by jane
    send(sessions, bytes(customer_mail()))
    pipeline.drain()
    # When someone else writes with "[Ticket #1]" in the subject
    send(sessions, bytes(customer_mail(sender="mallory@evil.test", subject="[Ticket #1] hi")))
    pipeline.drain()
    # Then they get their own ticket, and the mention is recorded
    with sessions() as session:
        view = show_ticket(session, 2)
    assert view is not None
    assert view["customer"]["email"] == "mallory@evil.test"
    assert view["threading"]["signal"] == "new-ticket"
    assert "mentions #1" in view["threading"]["detail"]


def test_automated_mail_gets_no_acknowledgement(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given an out-of-office reply
    mail = customer_mail(subject="Out of office", headers={"Auto-Submitted": "auto-replied"})
    send(sessions, bytes(mail))
    # When the workers run
    pipeline.drain()
    # Then the ticket exists, no mail was sent, and the suppression says why
    assert pipeline.transport.sent == []
    with sessions() as session:
        send_row = session.execute(select(AutomatedSend)).scalar_one()
    assert send_row.status == "suppressed"
    assert send_row.reason is not None and "automated" in send_row.reason


@pytest.mark.parametrize(
    "headers",
    [
        {"Precedence": "bulk"},
        {"List-Id": "<news.example.com>"},
        {"Return-Path": "<>"},
    ],
)
def test_list_and_bulk_mail_gets_no_acknowledgement(
    pipeline: Pipeline, sessions: sessionmaker[Session], headers: dict[str, str]
) -> None:
    # Given mail carrying a bulk/list/bounce signal
    send(sessions, bytes(customer_mail(headers=headers)))
    # When the workers run
    pipeline.drain()
    # Then nothing is sent back
    assert pipeline.transport.sent == []


def test_mailer_daemon_sender_gets_no_acknowledgement(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a mail from MAILER-DAEMON
    send(sessions, bytes(customer_mail(sender="MAILER-DAEMON@mx.customer.test")))
    # When the workers run
    pipeline.drain()
    # Then no acknowledgement goes to it
    assert pipeline.transport.sent == []


def test_acknowledgements_to_one_address_stop_at_the_hourly_limit(
    pipeline: Pipeline, sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given more new tickets from one address than the hourly limit
    for n in range(settings.automated_sends_per_hour + 2):
        send(sessions, bytes(customer_mail(subject=f"question {n}")))
    # When the workers run
    pipeline.drain()
    # Then only the limit's worth of acknowledgements went out
    assert len(pipeline.transport.sent) == settings.automated_sends_per_hour


def test_unparseable_input_is_quarantined_with_its_reason(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given bytes with no sender anywhere (no From, no envelope sender)
    inbound_id = send(sessions, b"\x00\x01 this is not a mail at all \xff\xfe")
    # When the workers run
    pipeline.drain()
    # Then it is kept raw, quarantined with a reason, and makes no ticket
    with sessions() as session:
        record = session.get(InboundRecord, inbound_id)
        assert record is not None
        assert record.status == "quarantined"
        assert record.status_reason
        assert record.raw.startswith(b"\x00\x01")
    assert count(sessions, Ticket) == 0


def test_not_mime_with_an_envelope_sender_still_becomes_a_ticket(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given plain text with no headers, but an SMTP envelope sender
    send(sessions, b"help, my order never arrived\r\n", mail_from="bob@customer.test")
    # When the workers run
    pipeline.drain()
    # Then a ticket exists for the envelope sender
    with sessions() as session:
        view = show_ticket(session, 1)
    assert view is not None
    assert view["customer"]["email"] == "bob@customer.test"


def test_latin1_without_charset_is_decoded(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given 8bit Latin-1 text with no charset declared
    raw = (
        b"From: Jos\xe9 <jose@customer.test>\r\nTo: support@example.com\r\n"
        b"Subject: Caf\xe9\r\nMessage-ID: <l1@customer.test>\r\n\r\n"
        b"Ol\xe1, a fatura est\xe1 errada.\r\n"
    )
    send(sessions, raw)
    # When the workers run
    pipeline.drain()
    # Then the text is readable, not replacement characters
    with sessions() as session:
        message = session.execute(select(Message)).scalars().first()
        assert message is not None
        assert "fatura está errada" in message.body_text


def test_empty_body_makes_a_ticket(pipeline: Pipeline, sessions: sessionmaker[Session]) -> None:
    # Given a mail with headers and no body at all
    raw = b"From: a@customer.test\r\nTo: support@example.com\r\nSubject: (empty)\r\n\r\n"
    send(sessions, raw)
    # When the workers run
    pipeline.drain()
    # Then a ticket exists with an empty body
    assert count(sessions, Ticket) == 1


def test_huge_header_block_is_quarantined(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a 1 MB header block
    filler = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 70) for i in range(13_000))
    raw = b"From: a@customer.test\r\nSubject: big\r\n" + filler + b"\r\nbody\r\n"
    inbound_id = send(sessions, raw)
    # When the workers run
    pipeline.drain()
    # Then it is quarantined with a reason naming the header size, and no process crashed
    with sessions() as session:
        record = session.get(InboundRecord, inbound_id)
        assert record is not None
        assert record.status == "quarantined"
        assert "header" in (record.status_reason or "")


def test_webhook_500_then_200_is_delivered_once_with_two_attempts(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a receiver that fails once and then accepts
    monkeypatch.setenv("OMNIROUTE_TEST_WEBHOOK_SECRET", SECRET)
    with WebhookReceiver(secret=SECRET.encode()) as receiver:
        receiver.enqueue(500, body=b"boom")
        receiver.enqueue(200, body=b'{"id": "EXT-7"}')
        pipe = Pipeline(settings, sessions, load_rules_text(rules_for(receiver.url_for("/hook"))))
        try:
            send(sessions, bytes(customer_mail()))
            # When the workers run through the retry
            pipe.drain()
        finally:
            pipe.close()
        # Then the receiver saw two signed posts with one idempotency key
        assert len(receiver.requests) == 2
        assert all(r.signature_valid for r in receiver.requests)
        keys = {r.header("Idempotency-Key") for r in receiver.requests}
        assert len(keys) == 1
        body = receiver.requests[-1].json()
        assert body["event"] == "ticket.created"
        assert body["ticket"]["number"] == 1
    # And the delivery is recorded as delivered after two attempts, with the external id
    with sessions() as session:
        delivery = session.execute(select(Delivery)).scalar_one()
        assert (delivery.status, delivery.attempts, delivery.external_id) == (
            "delivered",
            2,
            "EXT-7",
        )
        assert [a.outcome for a in delivery.attempt_log] == ["retry", "delivered"]


def test_webhook_that_keeps_failing_is_dead_after_max_attempts(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a receiver that always answers 503 and a limit of 3 attempts
    monkeypatch.setenv("OMNIROUTE_TEST_WEBHOOK_SECRET", SECRET)
    with WebhookReceiver(secret=SECRET.encode()) as receiver:
        for _ in range(3):
            receiver.enqueue(503)
        rules = load_rules_text(rules_for(receiver.url_for("/hook"), max_attempts=3))
        pipe = Pipeline(settings, sessions, rules)
        try:
            send(sessions, bytes(customer_mail()))
            # When the workers run out of attempts
            pipe.drain()
        finally:
            pipe.close()
    # Then the delivery is dead, with three attempts recorded, and shown as such
    with sessions() as session:
        view = show_ticket(session, 1)
    assert view is not None
    [delivery] = view["deliveries"]
    assert (delivery["status"], delivery["attempts"]) == ("dead", 3)


def test_webhook_400_is_rejected_without_retry(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a receiver that answers 400
    monkeypatch.setenv("OMNIROUTE_TEST_WEBHOOK_SECRET", SECRET)
    with WebhookReceiver(secret=SECRET.encode()) as receiver:
        receiver.enqueue(400, body=b"bad field")
        pipe = Pipeline(settings, sessions, load_rules_text(rules_for(receiver.url_for("/hook"))))
        try:
            send(sessions, bytes(customer_mail()))
            # When the workers run
            pipe.drain()
        finally:
            pipe.close()
        # Then one attempt only, and the delivery is rejected
        assert len(receiver.requests) == 1
    with sessions() as session:
        delivery = session.execute(select(Delivery)).scalar_one()
        assert (delivery.status, delivery.attempts) == ("rejected", 1)


def test_triage_twice_plans_one_delivery(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a delivered ticket
    monkeypatch.setenv("OMNIROUTE_TEST_WEBHOOK_SECRET", SECRET)
    with WebhookReceiver(secret=SECRET.encode()) as receiver:
        pipe = Pipeline(settings, sessions, load_rules_text(rules_for(receiver.url_for("/hook"))))
        try:
            send(sessions, bytes(customer_mail()))
            pipe.drain()
            # When triage and deliver run again for it
            pipe.broker.actors["triage"].send(ticket_id=1)
            pipe.broker.actors["deliver"].send(delivery_id=1)
            pipe.drain()
        finally:
            pipe.close()
        # Then the receiver still saw one post
        assert len(receiver.requests) == 1
    assert count(sessions, Delivery) == 1
