"""One mail through every real part: smtplib → SMTP edge → store → Redis → workers →
signed webhook receiver, and the acknowledgement through a real SMTP relay; the
customer's reply to it threads back onto the same ticket."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.rules import load_rules_text
from config.settings import Settings
from ingest.models import Message, Ticket
from ingest.views import show_ticket
from tests.mail import customer_mail
from tests.servers import smtp_sink, wait_until
from tests.stack import running_stack
from tests.workers.webhook_receiver import WebhookReceiver

SECRET = "e2e-secret"

RULES = """
format: 1
destinations:
  helpdesk:
    type: webhook
    url: {url}
    secret_env: OMNIROUTE_E2E_WEBHOOK_SECRET
    backoff_base_seconds: 0.1
routes:
  - name: default
    team: support
    destinations: [helpdesk]
"""

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    monkeypatch.setenv("OMNIROUTE_E2E_WEBHOOK_SECRET", SECRET)
    with WebhookReceiver(secret=SECRET.encode()) as server:
        yield server


def inbound_count(sessions: sessionmaker[Session], ticket_id: int) -> int:
    with sessions() as session:
        return int(
            session.execute(
                select(func.count()).where(
                    Message.ticket_id == ticket_id, Message.direction == "inbound"
                )
            ).scalar_one()
        )


def test_mail_to_ticket_to_webhook_and_acknowledgement_then_reply_threads_back(
    settings: Settings,
    sessions: sessionmaker[Session],
    broker_url: str,
    receiver: WebhookReceiver,
) -> None:
    with smtp_sink() as (sink, sink_port):
        # Given omniroute's parts running against the real store and broker
        settings = settings.model_copy(
            update={"outbound_smtp_url": f"smtp://127.0.0.1:{sink_port}"}
        )
        rules = load_rules_text(RULES.format(url=receiver.url_for("/hook")))
        with running_stack(settings, sessions, broker_url, rules) as stack:
            first = customer_mail(subject="Printer on fire", message_id="<e2e-1@customer.test>")
            # When a customer mails support
            with smtplib.SMTP("127.0.0.1", stack.smtp_port) as client:
                client.send_message(first)
            # Then the help desk receives one signed hand-off for ticket 1
            receiver.wait_for(1, timeout=60)
            hook = receiver.requests[0]
            assert hook.signature_valid
            document = hook.json()
            assert document["event"] == "ticket.created"
            assert document["ticket"]["number"] == 1
            assert document["message"]["external_id"] == "<e2e-1@customer.test>"
            assert document["decision"]["team"] == "support"
            # And the customer receives one acknowledgement threaded on their mail
            wait_until(lambda: len(sink.messages) == 1, what="acknowledgement")
            mail_from, rcpt_tos, ack = sink.messages[0]
            assert (mail_from, rcpt_tos) == ("support@example.com", ["jane@customer.test"])
            assert "[Ticket #1]" in str(ack["Subject"])
            assert ack["In-Reply-To"] == "<e2e-1@customer.test>"
            assert "<e2e-1@customer.test>" in str(ack["References"])
            assert ack["Auto-Submitted"] == "auto-replied"

            # When the customer replies to the acknowledgement
            reply = customer_mail(
                subject=f"Re: {ack['Subject']}",
                in_reply_to=str(ack["Message-ID"]),
                references=f"<e2e-1@customer.test> {ack['Message-ID']}",
                body="It is still on fire.\n",
            )
            with smtplib.SMTP("127.0.0.1", stack.smtp_port) as client:
                client.send_message(reply)
            # Then the reply lands on ticket 1 and no second ticket is opened
            wait_until(lambda: inbound_count(sessions, 1) == 2, what="reply on ticket 1")
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1
        view = show_ticket(session, 1)
    assert view is not None
    assert view["deliveries"][0]["status"] == "delivered"
    assert view["automated_sends"][0]["status"] == "sent"
    signals = [m["thread_signal"] for m in view["messages"]]
    # (our signed Message-ID in In-Reply-To is the first signal in the threading order)
    assert signals == ["new-ticket", "outbound", "signed-message-id"]
    # And only one acknowledgement was ever sent
    assert len(sink.messages) == 1
