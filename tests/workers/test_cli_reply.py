"""``omniroute tickets reply``: the same reply step as the API, from the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest import outbox
from ingest.models import Message, OutboxEntry, Ticket
from tests.workers.store_tickets import new_ticket
from workers.cli import main

CREATED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def env(settings: Settings, database_url: str) -> dict[str, str]:
    return {"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(settings.data_dir)}


def replies(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as session:
        rows = session.execute(
            select(Message.sender, Message.body_text)
            .where(Message.kind == "reply")
            .order_by(Message.id)
        ).all()
        return [(sender, body) for sender, body in rows]


def test_reply_stores_the_answer_sets_the_status_and_queues_the_send(
    env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    # Given jane's new ticket
    number = new_ticket(sessions, CREATED)
    # When alice replies from the command line and solves it
    result = CliRunner().invoke(
        main,
        [
            *("tickets", "reply", str(number)),
            *("--body", "Fixed now.", "--author", "alice", "--status", "solved"),
        ],
        env=env,
    )
    # Then it says what it did
    assert result.exit_code == 0, result.output
    assert f"stored on ticket #{number} [solved]" in result.output
    assert "the workers will send it to jane@customer.test" in result.output
    # And the store has the reply, both clocks met, and the send queued
    assert replies(sessions) == [("alice", "Fixed now.")]
    with sessions() as session:
        ticket = session.get(Ticket, number)
        assert ticket is not None
        assert ticket.status == "solved"
        assert ticket.first_responded_at is not None and ticket.resolved_at is not None
        actors = session.execute(select(OutboxEntry.actor)).scalars()
        assert outbox.SEND_REPLY in set(actors)


def test_reply_without_an_author_signs_with_the_support_name(
    env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    # Given a ticket and a support name configured
    number = new_ticket(sessions, CREATED)
    # When a reply is given without --author, asking for JSON
    result = CliRunner().invoke(
        main,
        ["tickets", "reply", str(number), "--body", "On it.", "--json"],
        env={**env, "OMNIROUTE_SUPPORT_NAME": "Acme Support"},
    )
    # Then it is signed with the support name, and the JSON is the stored reply
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert (view["from"], view["body_text"], view["ticket"]["status"]) == (
        "Acme Support",
        "On it.",
        "open",
    )
    assert replies(sessions) == [("Acme Support", "On it.")]


def test_reply_to_an_unknown_ticket_fails_and_stores_nothing(
    env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    result = CliRunner().invoke(main, ["tickets", "reply", "42", "--body", "Hi"], env=env)
    assert result.exit_code == 1
    assert "no ticket #42" in result.output
    assert replies(sessions) == []


def test_reply_with_an_empty_body_is_refused(
    env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    # Given a ticket; when the body is blank, then the reply is refused naming the field
    number = new_ticket(sessions, CREATED)
    result = CliRunner().invoke(main, ["tickets", "reply", str(number), "--body", "  "], env=env)
    assert result.exit_code == 1
    assert "invalid reply: body: Value error, must not be empty" in result.output
    assert replies(sessions) == []


def test_reply_exits_75_when_the_store_is_down(settings: Settings) -> None:
    # Given a store that does not answer
    env = {
        "OMNIROUTE_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none",
        "OMNIROUTE_DATA_DIR": str(settings.data_dir),
    }
    # When a reply is given, then the command exits EX_TEMPFAIL so a script retries
    result = CliRunner().invoke(main, ["tickets", "reply", "1", "--body", "Hi"], env=env)
    assert result.exit_code == 75
    assert "store unavailable, try again later" in result.output


def test_reply_needs_no_token_and_refuses_an_author_unfit_for_a_header(
    env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    # Given a ticket (and no API token anywhere)
    number = new_ticket(sessions, CREATED)
    # When a reply's author would inject a header into the customer's mail
    result = CliRunner().invoke(
        main,
        ["tickets", "reply", str(number), "--body", "Hi", "--author", "x\r\nBcc: all@evil.test"],
        env=env,
    )
    # Then it is refused naming the problem, and nothing is stored
    assert result.exit_code == 1
    assert "invalid reply: author: must not contain control characters" in result.output
    assert replies(sessions) == []
