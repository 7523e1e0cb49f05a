"""The Slack client (slack_sdk's WebClient) against a fake Slack Web API on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.events import record_event
from ingest.models import Ticket
from tests.mail import customer_mail
from tests.workers.desk_support import Desks, rules_with
from tests.workers.slack_fake import SlackFake
from workers.delivery.planning import ESCALATED, MESSAGE_APPENDED

TOKEN_ENV = "OMNIROUTE_TEST_SLACK_TOKEN"


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackFake]:
    monkeypatch.setenv(TOKEN_ENV, "xoxb-test")
    with SlackFake(token="xoxb-test", channels=("C0SUPPORT",)) as fake:
        yield fake


@pytest.fixture
def desks(settings: Settings, sessions: sessionmaker[Session], slack: SlackFake) -> Iterator[Desks]:
    rules = rules_with(f"""
  slack:
    type: slack
    channel: C0SUPPORT
    token_env: {TOKEN_ENV}
    base_url: {slack.base_url}
    max_attempts: 3
    timeout_seconds: 1
    backoff_base_seconds: 0.01
    backoff_max_seconds: 600
""")
    with Desks(settings, sessions, rules) as harness:
        yield harness


def escalate(desks: Desks, ticket_id: int, what: str) -> int:
    with desks.sessions.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return record_event(session, ticket, what).id


def test_a_ticket_is_posted_with_block_kit_blocks(desks: Desks, slack: SlackFake) -> None:
    # Given a critical ticket
    ticket, message = desks.ticket(
        customer_mail(subject="Site is down", body="Nothing loads <at all> & we lose money"),
        priority="critical",
        category="technical",
        team="platform",
    )
    # When it is handed to Slack
    delivery = desks.hand_off(ticket, message, "slack")
    # Then one post in the channel: header, triage fields, escaped text; its ts recorded
    [post] = slack.posts()
    header, fields, text, context = post["blocks"]
    assert header["text"]["text"] == f"Ticket #{ticket}: Site is down"
    assert [f["text"] for f in fields["fields"]] == [
        "*Priority*\ncritical",
        "*Category*\ntechnical",
        "*Team*\nplatform",
        "*Customer*\nJane Doe &lt;jane@customer.test&gt;",
    ]
    assert text["text"]["text"] == "Nothing loads &lt;at all&gt; &amp; we lose money"
    assert context["type"] == "context"
    assert post["text"] == f"Ticket #{ticket}: Site is down"
    assert post["metadata"]["event_type"] == "omniroute_handoff"
    assert desks.state(delivery).external_id == post["ts"]


def test_a_follow_up_is_threaded_under_the_ticket_post(desks: Desks, slack: SlackFake) -> None:
    # Given a ticket posted to Slack
    ticket, message = desks.ticket(customer_mail(subject="Site is down"))
    created = desks.hand_off(ticket, message, "slack")
    first_ts = desks.state(created).external_id
    # When the customer's reply is handed off
    _, reply = desks.receive(
        customer_mail(subject="Re: [Ticket #1] Site is down", body="Still down")
    )
    desks.run(desks.plan(ticket, reply, "slack", MESSAGE_APPENDED))
    # Then it is a reply in that post's thread, not a new post in the channel
    first, threaded = slack.posts()
    assert threaded["thread_ts"] == first_ts == first["ts"]
    assert threaded["reply_broadcast"] is False
    assert "Still down" in threaded["blocks"][0]["text"]["text"]


def test_an_escalation_of_a_posted_ticket_is_threaded_and_broadcast(
    desks: Desks, slack: SlackFake
) -> None:
    # Given a ticket posted to Slack
    ticket, message = desks.ticket(customer_mail(subject="Site is down"))
    desks.hand_off(ticket, message, "slack")
    # When its escalation is handed to the same channel
    event = escalate(desks, ticket, "First response SLA breached; escalated to on-call")
    delivery = desks.plan(ticket, event, "slack", ESCALATED)
    desks.run(delivery)
    # Then it is in the ticket's thread and shown in the channel too
    first, notice = slack.posts()
    assert (notice["thread_ts"], notice["reply_broadcast"]) == (first["ts"], True)
    assert notice["text"] == (
        f"Ticket #{ticket} escalated: First response SLA breached; escalated to on-call"
    )
    assert desks.state(delivery).status == "delivered"


def test_an_escalation_to_a_channel_without_the_ticket_is_a_post_of_its_own(
    desks: Desks, slack: SlackFake
) -> None:
    # Given a ticket that was never posted to Slack
    ticket, _ = desks.ticket(customer_mail(subject="Refund"))
    # When its escalation is handed to Slack
    event = escalate(desks, ticket, "Resolution SLA breached")
    desks.run(desks.plan(ticket, event, "slack", ESCALATED))
    # Then it is a notification in the channel
    [notice] = slack.posts()
    assert "thread_ts" not in notice
    assert notice["text"] == f"Ticket #{ticket} escalated: Resolution SLA breached"
    assert ":rotating_light:" in notice["blocks"][0]["text"]["text"]


def test_ratelimited_honours_retry_after(desks: Desks, slack: SlackFake) -> None:
    # Given Slack answers 429 ratelimited, asking for 20 seconds
    slack.fail_next(429, headers={"Retry-After": "20"}, body={"ok": False, "error": "ratelimited"})
    ticket, message = desks.ticket(customer_mail())
    # When the ticket is handed off
    delivery = desks.hand_off(ticket, message, "slack")
    # Then it is retried no sooner than asked
    state = desks.state(delivery)
    assert state.status == "retrying"
    assert state.last_error == "Slack ratelimited (HTTP 429)"
    assert state.retry_in_seconds is not None and state.retry_in_seconds >= 20


def test_invalid_auth_is_rejected_without_retry(
    desks: Desks, slack: SlackFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a wrong bot token
    monkeypatch.setenv(TOKEN_ENV, "xoxb-wrong")
    ticket, message = desks.ticket(customer_mail())
    # When the ticket is handed off
    delivery = desks.hand_off(ticket, message, "slack")
    # Then Slack's invalid_auth rejects it after one attempt
    state = desks.state(delivery)
    assert (state.status, state.attempts, state.last_error) == ("rejected", 1, "Slack invalid_auth")
    assert slack.posts() == []


def test_a_retry_after_a_timeout_finds_the_post_instead_of_posting_again(
    desks: Desks, slack: SlackFake
) -> None:
    # Given Slack takes the post but answers after our timeout
    slack.stall_next(3.0, path="/api/chat.postMessage")
    ticket, message = desks.ticket(customer_mail())
    delivery = desks.hand_off(ticket, message, "slack")
    assert desks.state(delivery).status == "retrying"
    # When the retry comes due and runs
    desks.make_due(delivery)
    desks.run(delivery)
    # Then it found its post by the metadata: still one post, its ts recorded
    [post] = slack.posts()
    assert len(slack.calls("POST", "/api/conversations.history")) == 1
    state = desks.state(delivery)
    assert (state.status, state.external_id) == ("delivered", post["ts"])
