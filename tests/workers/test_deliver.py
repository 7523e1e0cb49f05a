"""Delivery dispatch: follow-ups wait for their ticket, events per kind, interrupted attempts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

import workers.delivery.deliver as deliver_module
from config.settings import Settings
from ingest.events import record_event
from ingest.models import DeliveryAttempt, OutboxEntry, Ticket, utcnow
from ingest.status import change_status
from tests.mail import customer_mail
from tests.workers.desk_support import Desks, rules_with
from tests.workers.webhook_receiver import WebhookReceiver
from tests.workers.zendesk_fake import ZendeskFake
from workers.delivery.planning import ESCALATED, MESSAGE_APPENDED, STATUS_CHANGED, TICKET_CREATED

SECRET = "test-webhook-secret"


@pytest.fixture
def zendesk(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZendeskFake]:
    monkeypatch.setenv("OMNIROUTE_TEST_ZD_TOKEN", "zd-token")
    with ZendeskFake(email="agent@acme.test", token="zd-token") as fake:
        yield fake


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    monkeypatch.setenv("OMNIROUTE_TEST_HOOK_SECRET", SECRET)
    with WebhookReceiver(secret=SECRET.encode()) as server:
        yield server


@pytest.fixture
def desks(
    settings: Settings,
    sessions: sessionmaker[Session],
    zendesk: ZendeskFake,
    receiver: WebhookReceiver,
) -> Iterator[Desks]:
    rules = rules_with(f"""
  zendesk:
    type: zendesk
    url: {zendesk.url}
    email: agent@acme.test
    token_env: OMNIROUTE_TEST_ZD_TOKEN
    max_attempts: 3
    timeout_seconds: 2
    backoff_base_seconds: 0.01
  hook:
    type: webhook
    url: {receiver.url_for("/hook")}
    secret_env: OMNIROUTE_TEST_HOOK_SECRET
    backoff_base_seconds: 0.01
""")
    with Desks(settings, sessions, rules) as harness:
        yield harness


def reply(desks: Desks, body: str = "Any news?") -> int:
    _, message = desks.receive(customer_mail(subject="Re: [Ticket #1] Help", body=body))
    return message


def test_a_follow_up_waits_without_spending_an_attempt_until_the_ticket_is_delivered(
    desks: Desks, zendesk: ZendeskFake
) -> None:
    # Given the ticket's hand-off to Zendesk failed once and waits for its retry
    zendesk.fail_next(503, body={"error": "maintenance"})
    ticket, message = desks.ticket(customer_mail(subject="Help"))
    created = desks.hand_off(ticket, message, "zendesk")
    follow_up = desks.plan(ticket, reply(desks), "zendesk", MESSAGE_APPENDED)
    # When the follow-up runs first
    desks.run(follow_up)
    # Then it waits: no attempt spent, nothing sent, another run scheduled
    waiting = desks.state(follow_up)
    assert (waiting.status, waiting.attempts, waiting.outcomes) == ("pending", 0, [])
    assert waiting.retry_in_seconds is not None
    assert zendesk.calls("PUT") == []
    # And once the ticket is delivered, the follow-up lands on it
    desks.make_due(created)
    desks.run(created)
    desks.make_due(follow_up)
    desks.run(follow_up)
    [zendesk_ticket] = zendesk.tickets.values()
    assert [c["body"] for c in zendesk.comments(zendesk_ticket["id"])][-1] == "Any news?"
    assert desks.state(follow_up).attempts == 1


def test_a_follow_up_is_rejected_with_the_reason_when_the_ticket_hand_off_is_dead(
    desks: Desks, zendesk: ZendeskFake
) -> None:
    # Given the ticket's hand-off to Zendesk died after its attempts
    zendesk.fail_next(503, body={"error": "maintenance"}, times=3)
    ticket, message = desks.ticket(customer_mail(subject="Help"))
    created = desks.plan(ticket, message, "zendesk", TICKET_CREATED)
    assert desks.run_until_final(created).status == "dead"
    follow_up = desks.plan(ticket, reply(desks), "zendesk", MESSAGE_APPENDED)
    # When the follow-up runs
    desks.run(follow_up)
    # Then it is rejected without an attempt, saying why
    state = desks.state(follow_up)
    assert (state.status, state.attempts) == ("rejected", 0)
    assert state.last_error is not None
    assert state.last_error.startswith(
        f"the ticket.created delivery {created} to 'zendesk' is dead"
    )


def test_a_webhook_follow_up_carries_the_new_message_and_the_receivers_ticket_id(
    desks: Desks, receiver: WebhookReceiver
) -> None:
    # Given a ticket the webhook receiver took as its "ext-1"
    ticket, message = desks.ticket(customer_mail(subject="Help"))
    desks.hand_off(ticket, message, "hook")
    # When a reply is handed off
    appended = reply(desks, "Here is more detail.")
    desks.run(desks.plan(ticket, appended, "hook", MESSAGE_APPENDED))
    # Then the receiver got a signed message.appended naming its ticket and the new message
    first, second = receiver.wait_for(2)
    assert second.signature_valid
    assert second.header("X-Omniroute-Event") == "message.appended"
    document = second.json()
    assert document["event"] == "message.appended"
    assert document["external_ticket_id"] == "ext-1"
    assert document["message"]["id"] == appended
    assert document["message"]["body_text"].startswith("Here is more detail.")
    assert first.header("Idempotency-Key") != second.header("Idempotency-Key")


def test_a_webhook_status_change_says_what_changed(desks: Desks, receiver: WebhookReceiver) -> None:
    # Given a ticket handed to the webhook
    ticket, message = desks.ticket(customer_mail(subject="Help"))
    desks.hand_off(ticket, message, "hook")
    # When an agent solves it and the change is handed off
    with desks.sessions.begin() as session:
        row = session.get(Ticket, ticket)
        assert row is not None
        event = change_status(session, row, "solved", "refund issued")
        assert event is not None
        event_id = event.id
    desks.run(desks.plan(ticket, event_id, "hook", STATUS_CHANGED))
    # Then the receiver got the change, the reason and the timeline event
    _, change = receiver.wait_for(2)
    document = change.json()
    assert document["event"] == "ticket.status_changed"
    assert document["ticket"]["status"] == "solved"
    assert {k: document["change"][k] for k in ("from", "to", "reason")} == {
        "from": "new",
        "to": "solved",
        "reason": "refund issued",
    }
    assert document["message"]["body_text"] == "Status changed from new to solved: refund issued"


def test_a_webhook_escalation_is_an_event_with_the_timeline_text(
    desks: Desks, receiver: WebhookReceiver
) -> None:
    # Given a ticket never handed to the webhook, and an escalation on its timeline
    ticket, _ = desks.ticket(customer_mail(subject="Help"))
    with desks.sessions.begin() as session:
        row = session.get(Ticket, ticket)
        assert row is not None
        event_id = record_event(session, row, "Resolution SLA breached; escalated").id
    # When the escalation is handed to the webhook
    delivery = desks.plan(ticket, event_id, "hook", ESCALATED)
    desks.run(delivery)
    # Then the receiver got a ticket.escalated document standing on its own
    [request] = receiver.wait_for(1)
    document = request.json()
    assert document["event"] == "ticket.escalated"
    assert document["external_ticket_id"] is None
    assert document["message"]["body_text"] == "Resolution SLA breached; escalated"
    assert document["ticket"]["number"] == ticket
    assert desks.state(delivery).status == "delivered"


def test_an_event_a_kind_does_not_take_is_rejected_without_an_attempt(
    desks: Desks, zendesk: ZendeskFake
) -> None:
    # Given a ticket in Zendesk, and a status change planned to it
    ticket, message = desks.ticket(customer_mail(subject="Help"))
    desks.hand_off(ticket, message, "zendesk")
    with desks.sessions.begin() as session:
        row = session.get(Ticket, ticket)
        assert row is not None
        event = change_status(session, row, "closed", "done")
        assert event is not None
        event_id = event.id
    delivery = desks.plan(ticket, event_id, "zendesk", STATUS_CHANGED)
    # When it runs
    desks.run(delivery)
    # Then it is rejected, naming what Zendesk destinations take
    state = desks.state(delivery)
    assert (state.status, state.attempts) == ("rejected", 0)
    assert state.last_error == (
        "zendesk destinations do not take ticket.status_changed "
        "(only message.appended, ticket.created, ticket.escalated)"
    )


def test_a_run_after_an_interrupted_attempt_looks_up_the_ticket_instead_of_creating_another(
    desks: Desks, zendesk: ZendeskFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an attempt whose worker died after Zendesk created the ticket, before recording
    ticket, message = desks.ticket(customer_mail(subject="Help"))
    delivery = desks.plan(ticket, message, "zendesk", TICKET_CREATED)

    def killed(*args: object) -> str:
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patched, pytest.raises(RuntimeError):
        patched.setattr(deliver_module, "_record", killed)
        desks.run(delivery)
    assert len(zendesk.tickets) == 1
    # When the delivery runs again after that attempt's lease ran out
    with desks.sessions.begin() as session:
        session.execute(
            update(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery)
            .values(attempted_at=utcnow() - timedelta(hours=1))
        )
    desks.run(delivery)
    # Then it found the ticket by external_id: still one, recorded, the lost attempt counted
    assert len(zendesk.tickets) == 1
    state = desks.state(delivery)
    assert (state.status, state.attempts) == ("delivered", 2)
    assert state.outcomes == ["interrupted", "delivered"]
    assert state.external_id == str(next(iter(zendesk.tickets)))


def test_a_duplicate_run_while_an_attempt_is_in_flight_sends_nothing(
    desks: Desks, zendesk: ZendeskFake
) -> None:
    # Given an attempt that another worker started a moment ago
    ticket, message = desks.ticket(customer_mail(subject="Help"))
    delivery = desks.plan(ticket, message, "zendesk", TICKET_CREATED)
    with desks.sessions.begin() as session:
        session.add(DeliveryAttempt(delivery_id=delivery, outcome="started"))
    # When a duplicate message runs the delivery
    desks.run(delivery)
    # Then nothing is sent, and a look is scheduled for when that attempt's lease ends
    assert zendesk.requests == []
    with desks.sessions() as session:
        later = (
            session.execute(
                select(OutboxEntry).where(
                    OutboxEntry.actor == "deliver", OutboxEntry.not_before > utcnow()
                )
            )
            .scalars()
            .all()
        )
    assert [entry.payload for entry in later] == [{"delivery_id": delivery}]


def test_a_bug_in_a_desk_client_makes_the_delivery_dead_and_is_raised(
    desks: Desks, zendesk: ZendeskFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a desk client with a bug
    ticket, message = desks.ticket(customer_mail(subject="Help"))
    delivery = desks.plan(ticket, message, "zendesk", TICKET_CREATED)

    def broken(*args: object) -> object:
        raise KeyError("ticket")

    # When the delivery runs
    with monkeypatch.context() as patched, pytest.raises(KeyError):
        patched.setattr("workers.delivery.desks.registry.send", broken)
        desks.run(delivery)
    # Then the bug propagates (to be recorded with its traceback) and the delivery is dead
    state = desks.state(delivery)
    assert (state.status, state.attempts, state.outcomes) == ("dead", 1, ["dead"])
    assert state.last_error == "bug: KeyError: 'ticket'"
