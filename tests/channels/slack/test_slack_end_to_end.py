"""End to end on Slack: a customer's DM becomes a ticket, is acknowledged in its thread,
her thread reply joins it, an agent's reply (API and CLI) is posted in the thread, and
our own posts coming back never open a ticket."""

from __future__ import annotations

import json

import httpx
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.models import Message, Ticket
from tests.channels.slack.api_fake import SlackApiFake
from tests.channels.slack.support import event, post_event
from tests.harness import Pipeline
from tests.tokens import bearer, issue
from workers.cli import main


def echo_of(post: dict[str, str], event_id: str) -> dict[str, object]:
    """Our own post as Slack sends it back to the app (a message event from our bot)."""
    return event(
        "message.thread_reply",
        event_id=event_id,
        user="U0BOT",
        bot_id="B0BOT",
        ts=post["ts"],
        thread_ts=post["thread_ts"],
        text=post["text"],
    )


def test_dm_ticket_acknowledged_thread_reply_agent_reply_and_no_echo(
    http: httpx.Client,
    pipeline: Pipeline,
    sessions: sessionmaker[Session],
    fake: SlackApiFake,
    slack: Settings,
    database_url: str,
) -> None:
    # Given alice DMs the app
    post_event(http, event("message.im"))
    pipeline.drain()
    # Then a Slack ticket exists and its view says so
    with sessions() as session:
        number = session.execute(select(Ticket.id)).scalar_one()
    token = bearer(issue(sessions, "sam", authors=("Sam",)))
    view = http.get(f"/api/tickets/{number}", headers=token).json()
    assert view["channel"] == "slack"
    # And the acknowledgement is in the DM's thread
    (ack,) = fake.posts()
    assert ack["thread_ts"] == "1700000000.000100"
    assert f"Ticket #{number}" in ack["text"]

    # When she adds to it in the thread
    post_event(http, event("message.thread_reply"))
    pipeline.drain()
    # And an agent answers through the API
    answered = http.post(
        f"/api/tickets/{number}/replies",
        json={"body": "We reset your session.", "author": "Sam"},
        headers=token,
    )
    assert answered.status_code == 201, answered.text
    pipeline.drain()
    # And another from the command line: `omniroute tickets reply N TEXT`
    result = CliRunner().invoke(
        main,
        ["tickets", "reply", str(number), "Anything else?", "--author", "Kim"],
        env={"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(slack.data_dir)},
    )
    assert result.exit_code == 0, result.output
    pipeline.drain()
    # Then both replies were posted in the thread, each under its author's name
    _, api_post, cli_post = fake.posts()
    assert (api_post["thread_ts"], api_post["text"]) == (
        "1700000000.000100",
        "*Sam*\nWe reset your session.",
    )
    assert (cli_post["thread_ts"], cli_post["text"]) == (
        "1700000000.000100",
        "*Kim*\nAnything else?",
    )

    # When Slack sends every one of our posts back as events
    for index, post in enumerate(fake.posts()):
        post_event(http, echo_of(post, f"Ev0ECHO{index}"))
    pipeline.drain()
    # Then still one ticket, with her two messages and our three posts, nothing more
    with sessions() as session:
        assert session.execute(select(Ticket.id)).scalars().all() == [number]
        rows = session.execute(
            select(Message.direction, Message.kind)
            .where(Message.direction != "internal")
            .order_by(Message.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("inbound", "message"),
        ("outbound", "acknowledgement"),
        ("inbound", "message"),
        ("outbound", "reply"),
        ("outbound", "reply"),
    ]
    shown = json.loads(
        CliRunner()
        .invoke(
            main,
            ["tickets", "show", str(number), "--json"],
            env={"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(slack.data_dir)},
        )
        .output
    )
    assert shown["channel"] == "slack"
