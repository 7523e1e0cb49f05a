"""What a Slack event becomes: a ticket, a message on one, a revision, or nothing (with why).

Events are posted signed over real HTTP; the workers run on the StubBroker and read
the fake Slack Web API with the real ``slack_sdk`` client.
"""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.models import Identity, InboundRecord, Message, MessageRevision, Ticket
from ingest.views import show_ticket
from tests.channels.slack.api_fake import SlackApiFake
from tests.channels.slack.support import event, post_event
from tests.harness import Pipeline


def inbound_messages(sessions: sessionmaker[Session]) -> list[Message]:
    with sessions() as session:
        return list(
            session.execute(
                select(Message).where(Message.direction == "inbound").order_by(Message.id)
            ).scalars()
        )


def tickets(sessions: sessionmaker[Session]) -> list[Ticket]:
    with sessions() as session:
        return list(session.execute(select(Ticket).order_by(Ticket.id)).scalars())


def record_states(sessions: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    with sessions() as session:
        rows = session.execute(
            select(InboundRecord.status, InboundRecord.status_reason).order_by(InboundRecord.id)
        ).all()
    return [(status, reason) for status, reason in rows]


def test_a_dm_to_the_app_opens_a_slack_ticket_for_the_slack_user(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a DM from alice of the own workspace
    post_event(http, event("message.im"))
    # When the workers run
    pipeline.drain()
    # Then one Slack ticket holds it, from alice's Slack identity, in its thread
    (ticket,) = tickets(sessions)
    assert ticket.channel == "slack"
    assert ticket.subject == "Hi, I can't log in to the dashboard since this morning."
    (message,) = inbound_messages(sessions)
    assert (message.sender, message.sender_kind) == ("T0OURS:U0ALICE", "slack")
    assert message.conversation_key == "T0OURS:D0ALICE:1700000000.000100"
    assert message.external_id == "D0ALICE:1700000000.000100"
    with sessions() as session:
        identities = {
            (i.kind, i.value, i.verified) for i in session.execute(select(Identity)).scalars()
        }
        assert ticket.customer_id is not None
    # And her profile email of the own workspace is a verified identity
    assert identities == {("slack", "T0OURS:U0ALICE", True), ("email", "alice@ours.test", True)}


def test_the_acknowledgement_is_posted_in_the_thread_and_never_comes_back(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: SlackApiFake
) -> None:
    # Given a DM that opened a ticket
    post_event(http, event("message.im"))
    pipeline.drain()
    # Then the acknowledgement went into the DM's thread with the ticket number
    (post,) = fake.posts()
    (ticket,) = tickets(sessions)
    assert (post["channel"], post["thread_ts"]) == ("D0ALICE", "1700000000.000100")
    assert f"Ticket #{ticket.id}" in post["text"]
    # When Slack sends our own post back as a message event
    echo = event(
        "message.thread_reply",
        event_id="Ev0ECHO",
        user="U0BOT",
        bot_id="B0BOT",
        ts=post["ts"],
        text=post["text"],
    )
    post_event(http, echo)
    pipeline.drain()
    # Then it is ignored: no message, no ticket
    assert len(inbound_messages(sessions)) == 1
    assert record_states(sessions)[-1] == ("ignored", "our own post")


def test_a_thread_reply_appends_to_the_ticket(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a DM ticket
    post_event(http, event("message.im"))
    pipeline.drain()
    # When alice answers in its thread
    post_event(http, event("message.thread_reply"))
    pipeline.drain()
    # Then the reply is on the same ticket, threaded by the conversation
    (ticket,) = tickets(sessions)
    first, reply = inbound_messages(sessions)
    assert first.ticket_id == reply.ticket_id == ticket.id
    assert (reply.thread_signal, reply.kind) == ("conversation", "message")


def test_a_colleague_answering_in_the_thread_is_an_agent_message(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a ticket from erin of a partner workspace in the shared channel
    post_event(http, event("message.shared_channel"))
    pipeline.drain()
    # When sam of the own workspace answers in its thread
    reply = event(
        "message.shared_channel",
        event_id="Ev0SH000002",
        user="U0AGENT",
        team="T0OURS",
        user_team="T0OURS",
        ts="1700000250.000350",
        thread_ts="1700000200.000300",
        text="Looking into it now.",
    )
    post_event(http, reply)
    pipeline.drain()
    # Then his message is on the ticket as an agent's, and the first response is marked
    (ticket,) = tickets(sessions)
    customer, agent = inbound_messages(sessions)
    assert (customer.kind, agent.kind) == ("message", "agent-message")
    assert agent.ticket_id == ticket.id
    assert ticket.first_responded_at is not None


def test_a_partner_users_profile_email_is_only_a_suggestion(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given erin of the partner workspace writes in the shared support channel
    post_event(http, event("message.shared_channel"))
    pipeline.drain()
    # Then her ticket is hers, by her partner-workspace Slack identity
    (ticket,) = tickets(sessions)
    (message,) = inbound_messages(sessions)
    assert (message.sender, message.ticket_id) == ("T0PARTNER:U0EXT", ticket.id)
    # And her profile email is linked, but not verified (her admin controls it)
    with sessions() as session:
        email = session.execute(select(Identity).where(Identity.kind == "email")).scalar_one()
    assert (email.value, email.verified) == ("erin@partner.test", False)


def test_a_colleagues_top_level_message_in_a_shared_channel_is_not_a_ticket(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given sam of the own workspace posts top-level in the shared channel
    post_event(
        http, event("message.shared_channel", user="U0AGENT", team="T0OURS", user_team="T0OURS")
    )
    pipeline.drain()
    # Then no ticket, and the record says why
    assert tickets(sessions) == []
    assert record_states(sessions) == [("ignored", "a colleague's message in a shared channel")]


def test_a_top_level_message_in_a_support_channel_opens_a_ticket(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    post_event(http, event("message.channel"))
    pipeline.drain()
    (ticket,) = tickets(sessions)
    (message,) = inbound_messages(sessions)
    assert message.ticket_id == ticket.id
    # Slack's escapes are undone in the text
    assert message.body_text.endswith("large reports & never finishes.")
    assert message.conversation_key == "T0OURS:C0SUPPORT:1700000100.000200"


def test_a_message_in_another_channel_is_not_a_ticket(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    post_event(http, event("message.channel", channel="C0GENERAL"))
    pipeline.drain()
    assert tickets(sessions) == []
    (state,) = record_states(sessions)
    assert state[0] == "ignored"
    assert "not in a support conversation" in str(state[1])


def test_a_mention_of_the_app_opens_a_ticket_whichever_event_arrives_first(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given the message event of an @mention arrives before the app_mention event
    post_event(http, event("message.mention"))
    post_event(http, event("app_mention"))
    pipeline.drain()
    # Then one ticket holds the message once
    (ticket,) = tickets(sessions)
    (message,) = inbound_messages(sessions)
    assert message.ticket_id == ticket.id
    assert message.conversation_key == "T0OURS:C0GENERAL:1700000400.000500"


def test_a_ticket_reaction_by_a_colleague_opens_a_ticket_with_the_message(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: SlackApiFake
) -> None:
    # Given erin's message in a general channel, and sam reacts :ticket: on it
    fake.add_history(
        "C0GENERAL",
        {"type": "message", "user": "U0EXT", "text": "Is the API down?", "ts": "1700000500.000600"},
    )
    post_event(http, event("reaction_added"))
    pipeline.drain()
    # Then erin's message is a ticket of hers
    (ticket,) = tickets(sessions)
    (message,) = inbound_messages(sessions)
    assert (message.sender, message.body_text) == ("T0PARTNER:U0EXT", "Is the API down?")
    assert ticket.subject == "Is the API down?"


def test_a_ticket_reaction_by_an_outsider_is_ignored(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: SlackApiFake
) -> None:
    fake.add_history(
        "C0GENERAL",
        {"type": "message", "user": "U0EXT", "text": "Is the API down?", "ts": "1700000500.000600"},
    )
    post_event(http, event("reaction_added", user="U0EXT"))
    pipeline.drain()
    assert tickets(sessions) == []
    assert record_states(sessions) == [
        ("ignored", "reaction by U0EXT, who is not of the own workspace")
    ]


def test_bots_and_joins_are_noise(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given another bot's message and a join in the support channel
    post_event(http, event("message.bot_message"))
    post_event(http, event("message.channel_join"))
    pipeline.drain()
    # Then neither is a ticket, and each record says why
    assert tickets(sessions) == []
    assert record_states(sessions) == [
        ("ignored", "a bot's message (B0CIBOT)"),
        ("ignored", "message subtype channel_join"),
    ]


def test_an_accepted_bot_opens_tickets(
    http: httpx.Client, sessions: sessionmaker[Session], slack: object, settings: object
) -> None:
    # Given B0CIBOT is accepted
    from config.settings import Settings

    assert isinstance(slack, Settings)
    accepting = slack.model_copy(update={"slack_accept_bots": ("B0CIBOT",)})
    pipe = Pipeline(accepting, sessions)
    try:
        post_event(http, event("message.bot_message"))
        pipe.drain()
    finally:
        pipe.close()
    # Then its message is a ticket
    (ticket,) = tickets(sessions)
    assert ticket.subject == "Build #412 failed on main"


def test_an_edit_is_a_revision_of_the_ticket_message(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a DM ticket
    post_event(http, event("message.im"))
    pipeline.drain()
    # When alice edits her message
    post_event(http, event("message_changed"))
    pipeline.drain()
    # Then the message shows the current text, and the earlier one is kept as a revision
    (message,) = inbound_messages(sessions)
    assert message.body_text == "Hi, I can't log in to the dashboard since yesterday evening."
    with sessions() as session:
        (revision,) = session.execute(select(MessageRevision)).scalars()
        assert (revision.kind, revision.message_id) == ("edited", message.id)
        assert revision.previous_text == "Hi, I can't log in to the dashboard since this morning."
        # And the ticket's view shows the agent that it changed
        view = show_ticket(session, message.ticket_id)
    assert view is not None
    (shown,) = [m for m in view["messages"] if m["id"] == message.id]
    assert [r["kind"] for r in shown["revisions"]] == ["edited"]
    assert len(tickets(sessions)) == 1


def test_a_delete_is_marked_on_the_ticket_message(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    post_event(http, event("message.im"))
    pipeline.drain()
    post_event(http, event("message_deleted"))
    pipeline.drain()
    (message,) = inbound_messages(sessions)
    # The agent still reads what was sent, marked as deleted
    assert message.body_text == "Hi, I can't log in to the dashboard since this morning."
    assert "deleted by the sender on Slack" in message.warnings
    with sessions() as session:
        (revision,) = session.execute(select(MessageRevision)).scalars()
        assert revision.kind == "deleted"
    assert len(tickets(sessions)) == 1


def test_a_rate_limited_profile_lookup_retries_the_ingest_and_loses_nothing(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: SlackApiFake
) -> None:
    # Given Slack rate-limits the first users.info
    fake.fail_next(
        429,
        body={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": "1"},
        path="/api/users.info",
    )
    # When a DM arrives and the workers run
    post_event(http, event("message.im"))
    pipeline.drain()
    # Then the ingest was tried again and the DM is a ticket with alice's name
    assert len(fake.calls("POST", "/api/users.info")) >= 2
    (ticket,) = tickets(sessions)
    with sessions() as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None
        assert stored.customer.name == "Alice Doe"
