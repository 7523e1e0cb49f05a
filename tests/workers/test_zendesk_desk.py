"""The Zendesk client against a fake Zendesk on loopback, through ``deliver``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.events import record_event
from ingest.models import Ticket
from tests.mail import customer_mail
from tests.workers.desk_support import Desks, rules_with
from tests.workers.zendesk_fake import ZendeskFake
from workers.delivery.planning import ESCALATED, MESSAGE_APPENDED

TOKEN_ENV = "OMNIROUTE_TEST_ZENDESK_TOKEN"


@pytest.fixture
def zendesk(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZendeskFake]:
    monkeypatch.setenv(TOKEN_ENV, "zd-token")
    with ZendeskFake(email="agent@acme.test", token="zd-token") as fake:
        yield fake


@pytest.fixture
def desks(
    settings: Settings, sessions: sessionmaker[Session], zendesk: ZendeskFake
) -> Iterator[Desks]:
    rules = rules_with(f"""
  zendesk:
    type: zendesk
    url: {zendesk.url}
    email: agent@acme.test
    token_env: {TOKEN_ENV}
    group_ids: {{billing: 360001}}
    tags: [omniroute, From Email]
    max_attempts: 3
    timeout_seconds: 1
    backoff_base_seconds: 0.01
    backoff_max_seconds: 600
""")
    with Desks(settings, sessions, rules) as harness:
        yield harness


def reply_mail(body: str = "Any news on this?") -> object:
    return customer_mail(subject="Re: [Ticket #1] Charged twice", body=body)


def test_a_ticket_is_created_with_requester_subject_comment_priority_group_tags_and_external_id(
    desks: Desks, zendesk: ZendeskFake
) -> None:
    # Given a billing ticket of high priority, tagged by triage
    ticket, message = desks.ticket(
        customer_mail(subject="Charged twice", body="My card was charged twice."),
        priority="critical",
        tags=("vip",),
    )
    # When it is handed to Zendesk
    delivery = desks.hand_off(ticket, message, "zendesk")
    # Then Zendesk has one ticket with everything, and we recorded its id
    [created] = zendesk.tickets.values()
    assert created["subject"] == "Charged twice"
    assert created["requester"] == {"name": "Jane Doe", "email": "jane@customer.test"}
    assert created["comments"][0]["body"] == "My card was charged twice."
    assert created["priority"] == "urgent"
    assert created["group_id"] == 360001
    assert created["tags"] == ["omniroute", "from_email", "vip"]
    assert created["external_id"] == f"omniroute-{ticket}"
    state = desks.state(delivery)
    assert (state.status, state.attempts, state.external_id) == ("delivered", 1, str(created["id"]))


def test_a_follow_up_is_a_public_comment_by_the_requester_on_the_same_ticket(
    desks: Desks, zendesk: ZendeskFake
) -> None:
    # Given a ticket already in Zendesk
    ticket, message = desks.ticket(customer_mail(subject="Charged twice"))
    desks.hand_off(ticket, message, "zendesk")
    [created] = zendesk.tickets.values()
    # When the customer's reply is handed off
    _, reply = desks.receive(
        customer_mail(subject="Re: [Ticket #1] Charged twice", body="Any news?")
    )
    follow_up = desks.plan(ticket, reply, "zendesk", MESSAGE_APPENDED)
    desks.run(follow_up)
    # Then it is a public comment on that ticket, authored by the requester
    assert len(zendesk.tickets) == 1
    comment = zendesk.comments(created["id"])[-1]
    assert comment["body"] == "Any news?"
    assert comment["public"] is True
    assert comment["author_id"] == created["requester_id"]
    assert [r.path for r in zendesk.calls("PUT")] == [f"/api/v2/tickets/{created['id']}.json"]
    assert desks.state(follow_up).external_id == str(created["id"])


def test_attachments_are_uploaded_and_their_tokens_put_in_the_comment(
    desks: Desks, zendesk: ZendeskFake
) -> None:
    # Given a customer mail with a PDF attached
    mail = customer_mail(subject="Invoice wrong")
    mail.add_attachment(
        b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="inv.pdf"
    )
    ticket, message = desks.ticket(mail)
    # When it is handed to Zendesk
    desks.hand_off(ticket, message, "zendesk")
    # Then the file was uploaded under its name and attached to the first comment
    [upload] = zendesk.calls("POST", "/api/v2/uploads.json")
    assert upload.param("filename") == "inv.pdf"
    assert upload.header("Content-Type") == "application/pdf"
    [created] = zendesk.tickets.values()
    [attachment] = created["comments"][0]["attachments"]
    assert attachment["content"] == b"%PDF-1.4 invoice"


def test_429_is_retried_no_sooner_than_retry_after(desks: Desks, zendesk: ZendeskFake) -> None:
    # Given Zendesk rate-limits the next request for 30 seconds
    zendesk.fail_next(429, headers={"Retry-After": "30"}, body={"error": "TooManyRequests"})
    ticket, message = desks.ticket(customer_mail())
    # When the ticket is handed off
    delivery = desks.hand_off(ticket, message, "zendesk")
    # Then the attempt is retried, scheduled at least 30 seconds later, and nothing was made
    state = desks.state(delivery)
    assert state.status == "retrying"
    assert state.retry_in_seconds is not None and state.retry_in_seconds >= 30
    assert zendesk.tickets == {}


def test_a_retry_after_a_timeout_finds_the_ticket_instead_of_creating_another(
    desks: Desks, zendesk: ZendeskFake
) -> None:
    # Given Zendesk creates the ticket but answers after our one-second timeout
    zendesk.stall_next(3.0, method="POST", path="/api/v2/tickets.json")
    ticket, message = desks.ticket(customer_mail())
    delivery = desks.hand_off(ticket, message, "zendesk")
    assert desks.state(delivery).status == "retrying"
    # When the retry comes due and runs
    desks.make_due(delivery)
    desks.run(delivery)
    # Then it looked the ticket up by external_id and recorded it: still one ticket
    assert len(zendesk.tickets) == 1
    [lookup] = zendesk.calls("GET", "/api/v2/tickets.json")
    assert lookup.param("external_id") == f"omniroute-{ticket}"
    [created] = zendesk.tickets.values()
    state = desks.state(delivery)
    assert (state.status, state.external_id) == ("delivered", str(created["id"]))
    assert state.outcomes == ["retry", "delivered"]


def test_a_follow_up_retried_after_a_timeout_is_not_commented_twice(
    desks: Desks, zendesk: ZendeskFake
) -> None:
    # Given a ticket in Zendesk, and a follow-up whose comment lands but answers too late
    ticket, message = desks.ticket(customer_mail(subject="Charged twice"))
    desks.hand_off(ticket, message, "zendesk")
    _, reply = desks.receive(customer_mail(subject="Re: [Ticket #1] Charged twice", body="Hello?"))
    follow_up = desks.plan(ticket, reply, "zendesk", MESSAGE_APPENDED)
    zendesk.stall_next(3.0, method="PUT")
    desks.run(follow_up)
    # When the retry runs
    desks.make_due(follow_up)
    desks.run(follow_up)
    # Then the audit metadata showed the comment was made: one comment, delivered
    [created] = zendesk.tickets.values()
    assert [c["body"] for c in zendesk.comments(created["id"])][1:] == ["Hello?"]
    assert desks.state(follow_up).status == "delivered"


def test_bad_credentials_are_rejected_without_retry(
    desks: Desks, zendesk: ZendeskFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a wrong API token in the environment
    monkeypatch.setenv(TOKEN_ENV, "not-the-token")
    ticket, message = desks.ticket(customer_mail())
    # When the ticket is handed off
    delivery = desks.hand_off(ticket, message, "zendesk")
    # Then Zendesk said 401 once and the delivery is rejected, never retried
    state = desks.state(delivery)
    assert (state.status, state.attempts) == ("rejected", 1)
    assert state.last_error is not None and state.last_error.startswith("HTTP 401 from Zendesk")
    assert len(zendesk.requests) == 1


def test_a_missing_token_variable_is_rejected_naming_it(
    desks: Desks, zendesk: ZendeskFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the token variable is not set
    monkeypatch.delenv(TOKEN_ENV)
    ticket, message = desks.ticket(customer_mail())
    # When the ticket is handed off
    delivery = desks.hand_off(ticket, message, "zendesk")
    # Then nothing is sent and the reason names the variable
    state = desks.state(delivery)
    assert state.status == "rejected"
    assert state.last_error == f"secret variable {TOKEN_ENV} is not set"
    assert zendesk.requests == []


def test_server_errors_until_the_limit_make_the_delivery_dead(
    desks: Desks, zendesk: ZendeskFake
) -> None:
    # Given Zendesk fails every request with 503 (the limit is 3 attempts)
    zendesk.fail_next(503, body={"error": "maintenance"}, times=10)
    ticket, message = desks.ticket(customer_mail())
    # When the delivery is run until it is final
    delivery = desks.plan(ticket, message, "zendesk", "ticket.created")
    state = desks.run_until_final(delivery)
    # Then it is dead after exactly three recorded attempts
    assert (state.status, state.attempts) == ("dead", 3)
    assert state.outcomes == ["retry", "retry", "retry"]
    assert zendesk.tickets == {}


def escalation(desks: Desks, ticket_id: int, what: str, priority: str) -> int:
    with desks.sessions.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.priority = priority
        return record_event(session, ticket, what).id


def test_an_escalation_is_a_private_note_and_the_new_priority_on_the_ticket(
    desks: Desks, zendesk: ZendeskFake
) -> None:
    # Given a normal-priority ticket in Zendesk
    ticket, message = desks.ticket(customer_mail(subject="Refund"), priority="medium")
    desks.hand_off(ticket, message, "zendesk")
    [created] = zendesk.tickets.values()
    assert created["priority"] == "normal"
    # When it breaches its SLA, is bumped to critical, and the escalation is handed off
    event = escalation(desks, ticket, "First response SLA breached; priority raised", "critical")
    delivery = desks.plan(ticket, event, "zendesk", ESCALATED)
    desks.run(delivery)
    # Then the same ticket is urgent and carries the escalation as a private note
    note = zendesk.comments(created["id"])[-1]
    assert (note["body"], note["public"]) == ("First response SLA breached; priority raised", False)
    assert created["priority"] == "urgent"
    assert desks.state(delivery).status == "delivered"


def test_an_escalation_of_a_ticket_zendesk_never_got_is_rejected_saying_what_to_do(
    desks: Desks, zendesk: ZendeskFake
) -> None:
    # Given a ticket that was never handed to Zendesk
    ticket, _ = desks.ticket(customer_mail(subject="Refund"))
    # When an escalation is handed to Zendesk
    event = escalation(desks, ticket, "Resolution SLA breached", "high")
    delivery = desks.plan(ticket, event, "zendesk", ESCALATED)
    desks.run(delivery)
    # Then it is rejected with the way to hand the ticket over instead
    state = desks.state(delivery)
    assert state.status == "rejected"
    assert state.last_error == (
        "Zendesk takes ticket.escalated only for a ticket it already has; "
        "plan ticket.created to hand the ticket over"
    )
    assert zendesk.requests == []
