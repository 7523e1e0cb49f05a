"""Answers on Slack: acknowledgements and agents' replies as posts in the ticket's thread,
with Slack's refusals and rate limits kept on the message."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from channels.slack_sender import SlackSender
from config.settings import Settings
from ingest.agent_reply import ReplyRequest, record_reply
from ingest.db import unit_of_work
from ingest.models import AutomatedSend, Message, Ticket
from tests.channels.slack.api_fake import SlackApiFake
from tests.channels.slack.support import event, post_event
from tests.harness import Pipeline
from workers.errors import TransientError
from workers.outbound.send_reply import send_reply


def reply(sessions: sessionmaker[Session], number: int, body: str, author: str = "Sam") -> int:
    with unit_of_work(sessions) as session:
        stored = record_reply(session, number, ReplyRequest(body=body, author=author))
        assert stored is not None
        return stored.id


def message(sessions: sessionmaker[Session], message_id: int) -> Message:
    with sessions() as session:
        found = session.get(Message, message_id)
        assert found is not None
        return found


def ticket_numbers(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return list(session.execute(select(Ticket.id).order_by(Ticket.id)).scalars())


def ticket_in(sessions: sessionmaker[Session], channel: str) -> int:
    with sessions() as session:
        return session.execute(
            select(Message.ticket_id).where(
                Message.direction == "inbound", Message.external_id.startswith(f"{channel}:")
            )
        ).scalar_one()


def test_an_agent_reply_is_posted_in_the_thread_with_the_agents_name(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: SlackApiFake
) -> None:
    # Given alice's DM ticket, acknowledged
    post_event(http, event("message.im"))
    pipeline.drain()
    (number,) = ticket_numbers(sessions)
    # When Sam replies and the workers run
    reply_id = reply(sessions, number, "Please try again now, we reset your session.")
    pipeline.drain()
    # Then the reply is the second post in the DM's thread, under Sam's name
    ack, posted = fake.posts()
    assert ack["thread_ts"] == posted["thread_ts"]
    assert (posted["channel"], posted["thread_ts"]) == ("D0ALICE", "1700000000.000100")
    assert posted["text"] == "*Sam*\nPlease try again now, we reset your session."
    # And its channel:ts is kept, so the post coming back is recognised as ours
    stored = message(sessions, reply_id)
    assert (stored.channel, stored.delivery_state) == ("slack", "sent")
    assert stored.external_id == f"D0ALICE:{posted['ts']}"


def test_a_refused_post_is_failed_with_slacks_reason(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: SlackApiFake
) -> None:
    # Given a ticket whose channel the app was removed from
    post_event(http, event("message.channel"))
    pipeline.drain()
    (number,) = ticket_numbers(sessions)
    fake.refuse_channel("C0SUPPORT", "not_in_channel")
    # When an agent replies
    reply_id = reply(sessions, number, "We are on it.")
    pipeline.drain()
    # Then the reply is failed, for good, with Slack's reason
    stored = message(sessions, reply_id)
    assert stored.delivery_state == "failed"
    assert stored.delivery_error == "Slack refused the post: not_in_channel"


def test_a_rate_limited_post_is_retried_until_it_is_sent(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: SlackApiFake
) -> None:
    # Given a DM ticket, and Slack rate-limits the next post
    post_event(http, event("message.im"))
    pipeline.drain()
    (number,) = ticket_numbers(sessions)
    fake.fail_next(
        429,
        body={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": "1"},
        path="/api/chat.postMessage",
    )
    # When an agent replies and the workers run
    reply_id = reply(sessions, number, "Fixed.")
    pipeline.drain()
    # Then the post was tried twice and the reply is sent
    assert len(fake.calls("POST", "/api/chat.postMessage")) == 3  # ack, limited, sent
    stored = message(sessions, reply_id)
    assert (stored.delivery_state, stored.delivery_error) == ("sent", None)


def test_one_broken_channel_does_not_stop_the_others(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: SlackApiFake
) -> None:
    # Given a ticket in an archived channel and one in a DM
    post_event(http, event("message.channel"))
    post_event(http, event("message.im"))
    pipeline.drain()
    broken, working = ticket_in(sessions, "C0SUPPORT"), ticket_in(sessions, "D0ALICE")
    fake.refuse_channel("C0SUPPORT", "is_archived")
    # When both get a reply
    broken_id = reply(sessions, broken, "Answer one.")
    working_id = reply(sessions, working, "Answer two.")
    pipeline.drain()
    # Then the archived channel's reply failed and the other was posted
    assert message(sessions, broken_id).delivery_error == "Slack refused the post: is_archived"
    assert message(sessions, working_id).delivery_state == "sent"


def test_acknowledgements_can_be_turned_off_per_channel(
    http: httpx.Client, sessions: sessionmaker[Session], fake: SlackApiFake, slack: Settings
) -> None:
    # Given acknowledgements are off in the support channel
    quiet = slack.model_copy(update={"slack_quiet_channels": ("C0SUPPORT",)})
    pipe = Pipeline(quiet, sessions)
    try:
        post_event(http, event("message.channel"))
        pipe.drain()
    finally:
        pipe.close()
    # Then nothing was posted, and the send says why
    assert fake.posts() == []
    with sessions() as session:
        send = session.execute(select(AutomatedSend)).scalar_one()
    assert send.status == "suppressed"
    assert send.reason == "acknowledgements are off in Slack channel C0SUPPORT"


def test_while_rate_limited_the_reply_says_so_and_waits_as_slack_asked(
    http: httpx.Client,
    pipeline: Pipeline,
    sessions: sessionmaker[Session],
    fake: SlackApiFake,
    slack: Settings,
) -> None:
    # Given a DM ticket with a reply, and Slack rate-limits posts for 30 seconds
    post_event(http, event("message.im"))
    pipeline.drain()
    (number,) = ticket_numbers(sessions)
    reply_id = reply(sessions, number, "Fixed.")
    fake.fail_next(
        429,
        body={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": "30"},
        path="/api/chat.postMessage",
    )
    senders = {"slack": SlackSender(slack)}
    # When the send is tried
    with pytest.raises(TransientError) as raised:
        send_reply(sessions, senders, reply_id)
    # Then it is to be retried after Slack's 30 seconds, and the reply shows why it waits
    assert raised.value.retry_after_seconds == 30
    stored = message(sessions, reply_id)
    assert (stored.delivery_state, stored.delivery_error) == (
        "sending",
        "Slack: ratelimited, retry after 30 s",
    )
