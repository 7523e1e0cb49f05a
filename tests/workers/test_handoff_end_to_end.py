"""Mail in, ticket out to the desks, replies after it: the real actors on a StubBroker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.rules import load_rules_text
from config.settings import Settings
from ingest.models import Delivery, Message, Ticket
from ingest.status import change_status
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.workers.slack_fake import SlackFake
from tests.workers.test_pipeline import send
from tests.workers.webhook_receiver import WebhookReceiver
from tests.workers.zendesk_fake import ZendeskFake

SECRET = "e2e-webhook-secret"


@pytest.fixture
def zendesk(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZendeskFake]:
    monkeypatch.setenv("OMNIROUTE_E2E_ZENDESK_TOKEN", "zd-token")
    with ZendeskFake(email="agent@acme.test", token="zd-token") as fake:
        yield fake


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackFake]:
    monkeypatch.setenv("OMNIROUTE_E2E_SLACK_TOKEN", "xoxb-e2e")
    with SlackFake(token="xoxb-e2e", channels=("C0BILLING",)) as fake:
        yield fake


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    monkeypatch.setenv("OMNIROUTE_E2E_HOOK_SECRET", SECRET)
    with WebhookReceiver(secret=SECRET.encode()) as server:
        yield server


@pytest.fixture
def pipeline(
    settings: Settings,
    sessions: sessionmaker[Session],
    zendesk: ZendeskFake,
    slack: SlackFake,
    receiver: WebhookReceiver,
) -> Iterator[Pipeline]:
    rules = load_rules_text(f"""
format: 1
destinations:
  zendesk:
    type: zendesk
    url: {zendesk.url}
    email: agent@acme.test
    token_env: OMNIROUTE_E2E_ZENDESK_TOKEN
    group_ids: {{billing: 42}}
    backoff_base_seconds: 0.01
  billing-channel:
    type: slack
    channel: C0BILLING
    token_env: OMNIROUTE_E2E_SLACK_TOKEN
    base_url: {slack.base_url}
    backoff_base_seconds: 0.01
  hook:
    type: webhook
    url: {receiver.url_for("/hook")}
    secret_env: OMNIROUTE_E2E_HOOK_SECRET
    backoff_base_seconds: 0.01
categorize:
  match: first
  default: general
  rules:
    - name: refunds
      when: {{keywords: [refund]}}
      category: billing
routes:
  - name: billing
    when: {{category: billing}}
    team: billing
    destinations: [zendesk, billing-channel, hook]
  - name: default
    team: support
    destinations: []
""")
    pipe = Pipeline(settings, sessions, rules)
    yield pipe
    pipe.close()


def test_a_reply_reaches_the_same_zendesk_ticket_and_slack_thread(
    pipeline: Pipeline, sessions: sessionmaker[Session], zendesk: ZendeskFake, slack: SlackFake
) -> None:
    # Given a billing mail that became a ticket in Zendesk and a post in Slack
    send(sessions, bytes(customer_mail(subject="Refund", body="Please refund invoice 7.")))
    pipeline.drain()
    [zendesk_ticket] = zendesk.tickets.values()
    assert zendesk_ticket["group_id"] == 42
    [post] = slack.posts()
    # When the customer replies to our acknowledgement
    ack = pipeline.transport.sent[0][0]
    send(
        sessions,
        bytes(
            customer_mail(
                subject=f"Re: {ack['Subject']}", in_reply_to=ack["Message-ID"], body="Any news?"
            )
        ),
    )
    pipeline.drain()
    # Then the same Zendesk ticket got the reply as a comment, and Slack has it in the thread
    assert len(zendesk.tickets) == 1
    comments = zendesk.comments(zendesk_ticket["id"])
    assert [c["body"].splitlines()[0] for c in comments] == [
        "Please refund invoice 7.",
        "Any news?",
    ]
    first, threaded = slack.posts()
    assert threaded["thread_ts"] == first["ts"] == post["ts"]
    # And every delivery is recorded as delivered with the desk's id
    with sessions() as session:
        rows = session.execute(select(Delivery).order_by(Delivery.id)).scalars().all()
        assert {(d.destination, d.event, d.status) for d in rows} == {
            (name, event, "delivered")
            for name in ("zendesk", "billing-channel", "hook")
            for event in ("ticket.created", "message.appended")
        }
        assert {d.external_id for d in rows if d.destination == "zendesk"} == {
            str(zendesk_ticket["id"])
        }


def test_an_out_of_office_reply_on_the_ticket_is_not_handed_off(
    pipeline: Pipeline, sessions: sessionmaker[Session], zendesk: ZendeskFake
) -> None:
    # Given a ticket handed off
    send(sessions, bytes(customer_mail(subject="Refund", body="Please refund invoice 7.")))
    pipeline.drain()
    # When an auto-reply lands on it
    auto = customer_mail(
        subject="Re: [Ticket #1] Refund", headers={"Auto-Submitted": "auto-replied"}
    )
    send(sessions, bytes(auto))
    pipeline.drain()
    # Then it is a note on the ticket, and no desk heard of it
    with sessions() as session:
        inbound = select(Message).where(Message.direction == "inbound").order_by(Message.id)
        kinds = [m.kind for m in session.execute(inbound).scalars()]
        events = {d.event for d in session.execute(select(Delivery)).scalars()}
    assert kinds == ["message", "auto-reply"]
    assert events == {"ticket.created"}
    [zendesk_ticket] = zendesk.tickets.values()
    assert len(zendesk.comments(zendesk_ticket["id"])) == 1


def test_a_status_change_reaches_only_the_webhook(
    pipeline: Pipeline, sessions: sessionmaker[Session], receiver: WebhookReceiver
) -> None:
    # Given a ticket handed to Zendesk, Slack and the webhook
    send(sessions, bytes(customer_mail(subject="Refund", body="Please refund invoice 7.")))
    pipeline.drain()
    # When an agent solves it
    with sessions.begin() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None
        change_status(session, ticket, "solved", "refund issued")
    pipeline.drain()
    # Then only the webhook got ticket.status_changed, with the change
    with sessions() as session:
        changes = (
            session.execute(select(Delivery).where(Delivery.event == "ticket.status_changed"))
            .scalars()
            .all()
        )
        assert [(d.destination, d.status) for d in changes] == [("hook", "delivered")]
    document = receiver.requests[-1].json()
    assert (document["event"], document["change"]["to"]) == ("ticket.status_changed", "solved")
