"""The Freshdesk client against a fake Freshdesk on loopback, through ``deliver``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.events import record_event
from ingest.models import Ticket
from tests.mail import customer_mail
from tests.workers.desk_support import Desks, rules_with
from tests.workers.freshdesk_fake import FreshdeskFake
from workers.delivery.planning import ESCALATED, MESSAGE_APPENDED

KEY_ENV = "OMNIROUTE_TEST_FRESHDESK_KEY"


@pytest.fixture
def freshdesk(monkeypatch: pytest.MonkeyPatch) -> Iterator[FreshdeskFake]:
    monkeypatch.setenv(KEY_ENV, "fd-key")
    with FreshdeskFake(api_key="fd-key") as fake:
        yield fake


def destinations(url: str) -> str:
    common = f"""
    url: {url}
    api_key_env: {KEY_ENV}
    group_ids: {{billing: 77}}
    tags: [omniroute]
    max_attempts: 3
    timeout_seconds: 1
    backoff_base_seconds: 0.01
    backoff_max_seconds: 600"""
    return (
        f"  notes:\n    type: freshdesk{common}\n"
        f"  replies:\n    type: freshdesk\n    followups: reply{common}\n"
    )


@pytest.fixture
def desks(
    settings: Settings, sessions: sessionmaker[Session], freshdesk: FreshdeskFake
) -> Iterator[Desks]:
    with Desks(settings, sessions, rules_with(destinations(freshdesk.url))) as harness:
        yield harness


def test_a_ticket_is_created_with_requester_priority_status_group_and_our_tag(
    desks: Desks, freshdesk: FreshdeskFake
) -> None:
    # Given a high-priority billing ticket
    ticket, message = desks.ticket(
        customer_mail(subject="Refund", body="Please refund <order 42> & thanks"), priority="high"
    )
    # When it is handed to Freshdesk
    delivery = desks.hand_off(ticket, message, "notes")
    # Then Freshdesk has one open ticket with the customer, escaped text and our tag
    [created] = freshdesk.tickets.values()
    assert (created["email"], created["name"], created["subject"]) == (
        "jane@customer.test",
        "Jane Doe",
        "Refund",
    )
    assert created["description"] == "<p>Please refund &lt;order 42&gt; &amp; thanks</p>"
    assert (created["priority"], created["status"], created["group_id"]) == (3, 2, 77)
    assert created["tags"] == ["omniroute", f"omniroute-{ticket}"]
    assert desks.state(delivery).external_id == str(created["id"])


def test_a_follow_up_is_an_incoming_public_note_on_the_same_ticket(
    desks: Desks, freshdesk: FreshdeskFake
) -> None:
    # Given a ticket in Freshdesk
    ticket, message = desks.ticket(customer_mail(subject="Refund"))
    desks.hand_off(ticket, message, "notes")
    [number] = freshdesk.tickets
    # When the customer's reply is handed off
    _, reply = desks.receive(customer_mail(subject="Re: [Ticket #1] Refund", body="Still waiting"))
    follow_up = desks.plan(ticket, reply, "notes", MESSAGE_APPENDED)
    desks.run(follow_up)
    # Then it is a public, incoming note on that ticket, marked with our reference
    [note] = freshdesk.conversations[number]
    assert (note["kind"], note["private"], note["incoming"]) == ("notes", False, True)
    assert note["body_text"].startswith("Still waiting")
    assert f"[omniroute #{ticket} message {reply}]" in note["body_text"]
    assert desks.state(follow_up).external_id == str(number)


def test_followups_reply_posts_to_the_reply_endpoint(
    desks: Desks, freshdesk: FreshdeskFake
) -> None:
    # Given a destination configured with followups: reply, and a ticket there
    ticket, message = desks.ticket(customer_mail(subject="Refund"))
    desks.hand_off(ticket, message, "replies")
    [number] = freshdesk.tickets
    # When a follow-up is handed off
    _, reply = desks.receive(customer_mail(subject="Re: [Ticket #1] Refund", body="Hello?"))
    desks.run(desks.plan(ticket, reply, "replies", MESSAGE_APPENDED))
    # Then it went to the reply endpoint of the same ticket
    assert [r.path for r in freshdesk.calls("POST", f"/api/v2/tickets/{number}")] == [
        f"/api/v2/tickets/{number}/reply"
    ]


def test_attachments_are_sent_as_multipart(desks: Desks, freshdesk: FreshdeskFake) -> None:
    # Given a customer mail with a screenshot
    mail = customer_mail(subject="Broken page")
    mail.add_attachment(b"\x89PNG fake", maintype="image", subtype="png", filename="shot.png")
    ticket, message = desks.ticket(mail)
    # When it is handed to Freshdesk
    desks.hand_off(ticket, message, "notes")
    # Then the ticket came as multipart with the file under attachments[] and tags as tags[]
    [request] = freshdesk.calls("POST", "/api/v2/tickets")
    assert (request.header("Content-Type") or "").startswith("multipart/form-data")
    [created] = freshdesk.tickets.values()
    [attachment] = created["attachments"]
    assert (attachment["field"], attachment["name"], attachment["content"]) == (
        "attachments[]",
        "shot.png",
        b"\x89PNG fake",
    )
    assert created["tags"] == ["omniroute", f"omniroute-{ticket}"]


def test_429_is_retried_no_sooner_than_retry_after(desks: Desks, freshdesk: FreshdeskFake) -> None:
    # Given Freshdesk is over its rate limit for a minute
    freshdesk.fail_next(429, headers={"Retry-After": "60"}, body={"code": "rate_limited"})
    ticket, message = desks.ticket(customer_mail())
    # When the ticket is handed off
    delivery = desks.hand_off(ticket, message, "notes")
    # Then it is retried no sooner than asked
    state = desks.state(delivery)
    assert state.status == "retrying"
    assert state.retry_in_seconds is not None and state.retry_in_seconds >= 60


def test_a_retry_after_a_timeout_finds_the_ticket_by_its_tag(
    desks: Desks, freshdesk: FreshdeskFake
) -> None:
    # Given Freshdesk creates the ticket but answers after our timeout
    freshdesk.stall_next(3.0, method="POST", path="/api/v2/tickets")
    ticket, message = desks.ticket(customer_mail())
    delivery = desks.hand_off(ticket, message, "notes")
    # When the retry comes due and runs
    desks.make_due(delivery)
    desks.run(delivery)
    # Then it searched by our tag and found it: one ticket, delivered
    assert len(freshdesk.tickets) == 1
    [search] = freshdesk.calls("GET", "/api/v2/search/tickets")
    assert search.param("query") == f"\"tag:'omniroute-{ticket}'\""
    state = desks.state(delivery)
    assert (state.status, state.external_id) == ("delivered", str(next(iter(freshdesk.tickets))))


def test_a_follow_up_retried_after_a_timeout_is_not_posted_twice(
    desks: Desks, freshdesk: FreshdeskFake
) -> None:
    # Given a ticket in Freshdesk and a note that lands but answers too late
    ticket, message = desks.ticket(customer_mail(subject="Refund"))
    desks.hand_off(ticket, message, "notes")
    _, reply = desks.receive(customer_mail(subject="Re: [Ticket #1] Refund", body="Hello?"))
    follow_up = desks.plan(ticket, reply, "notes", MESSAGE_APPENDED)
    freshdesk.stall_next(3.0, method="POST", path="/api/v2/tickets/")
    desks.run(follow_up)
    # When the retry runs
    desks.make_due(follow_up)
    desks.run(follow_up)
    # Then it found its marker among the conversations: one note
    [number] = freshdesk.tickets
    assert len(freshdesk.conversations[number]) == 1
    assert desks.state(follow_up).status == "delivered"


def test_a_wrong_api_key_is_rejected_without_retry(
    desks: Desks, freshdesk: FreshdeskFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a wrong API key
    monkeypatch.setenv(KEY_ENV, "wrong")
    ticket, message = desks.ticket(customer_mail())
    # When the ticket is handed off
    delivery = desks.hand_off(ticket, message, "notes")
    # Then it is rejected after one attempt
    state = desks.state(delivery)
    assert (state.status, state.attempts) == ("rejected", 1)
    assert state.last_error is not None and state.last_error.startswith("HTTP 401 from Freshdesk")


def test_an_escalation_raises_the_priority_and_adds_a_private_note(
    desks: Desks, freshdesk: FreshdeskFake
) -> None:
    # Given a medium-priority ticket in Freshdesk
    ticket, message = desks.ticket(customer_mail(subject="Refund"), priority="medium")
    desks.hand_off(ticket, message, "notes")
    [number] = freshdesk.tickets
    # When it is bumped to critical by an SLA breach and the escalation is handed off
    with desks.sessions.begin() as session:
        row = session.get(Ticket, ticket)
        assert row is not None
        row.priority = "critical"
        event = record_event(session, row, "Resolution SLA breached; priority raised").id
    desks.run(desks.plan(ticket, event, "notes", ESCALATED))
    # Then the ticket is urgent (4) and has the escalation as a private note
    assert freshdesk.tickets[number]["priority"] == 4
    [note] = freshdesk.conversations[number]
    assert (note["kind"], note["private"]) == ("notes", True)
    assert note["body_text"].startswith("Resolution SLA breached; priority raised")
