"""A reply over HTTP is signed with a name the token may use, fit for a ``From`` header."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from channels.web import create_app
from ingest.models import Message, OutboxEntry
from ingest.reply_author import MAX_AUTHOR_CHARS
from ingest.tokens import REPLY
from tests.servers import http_server
from tests.tokens import bearer, issue
from tests.workers.store_tickets import new_ticket, timeline

CREATED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def base_url(sessions: sessionmaker[Session]) -> Iterator[str]:
    with http_server(create_app(sessions)) as url:
        yield url


def post(base_url: str, token: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(f"{base_url}/api/tickets/1/replies", json=body, headers=bearer(token))


def replies(sessions: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    with sessions() as session:
        rows = session.execute(
            select(Message.sender, Message.token_name).where(Message.kind == "reply")
        ).all()
    return [(sender, token) for sender, token in rows]


def work(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.execute(select(func.count(OutboxEntry.id))).scalar_one())


def test_a_reply_without_an_author_is_signed_with_the_token_name_and_records_it(
    base_url: str, sessions: sessionmaker[Session], agent_token: str
) -> None:
    # Given jane's ticket and alice's token
    new_ticket(sessions, CREATED)
    # When alice replies without naming an author
    response = post(base_url, agent_token, {"body": "Fixed.", "status": "solved"})
    # Then the reply is signed alice and records the token that sent it
    assert response.status_code == 201, response.text
    assert (response.json()["from"], response.json()["token"]) == ("alice", "alice")
    assert replies(sessions) == [("alice", "alice")]
    # And so does the ticket's timeline
    events = timeline(sessions, 1)
    assert events == ["Status changed from new to solved: alice replied with token alice"]


def test_a_token_cannot_sign_as_someone_else(
    base_url: str, sessions: sessionmaker[Session], agent_token: str
) -> None:
    # Given jane's ticket and alice's token
    new_ticket(sessions, CREATED)
    # When it is used to sign as the support team
    response = post(base_url, agent_token, {"body": "Send me your password", "author": "Support"})
    # Then it is forbidden and nothing is stored or queued
    assert response.status_code == 403
    assert response.json() == {
        "error": "author: this token may not sign as 'Support' (it may: 'alice')"
    }
    assert replies(sessions) == []
    assert work(sessions) == 0


def test_a_token_listing_authors_signs_with_them_and_must_say_which(
    base_url: str, sessions: sessionmaker[Session]
) -> None:
    # Given a help desk bridge that may sign for alice and bob
    new_ticket(sessions, CREATED)
    bridge = issue(sessions, "desk-bridge", [REPLY], authors=["alice", "bob"])
    # When it replies as bob, as eve, and as nobody
    as_bob = post(base_url, bridge, {"body": "Hi", "author": "bob"})
    as_eve = post(base_url, bridge, {"body": "Hi", "author": "eve"})
    as_nobody = post(base_url, bridge, {"body": "Hi"})
    # Then bob's reply is stored with the bridge's name, eve is forbidden, nobody is 422
    assert as_bob.status_code == 201
    assert as_eve.status_code == 403
    assert as_nobody.status_code == 422
    assert as_nobody.json()["problems"] == [
        {"field": "author", "problem": "required for this token, one of 'alice', 'bob'"}
    ]
    assert replies(sessions) == [("bob", "desk-bridge")]


@pytest.mark.parametrize(
    ("author", "problem"),
    [
        (
            "alice\r\nBcc: everyone@customer.test",
            "must not contain control characters or line breaks",
        ),
        ("alice\x00", "must not contain control characters or line breaks"),
        ("\u202eecila", "must not contain control characters or line breaks"),
        ("Support <support@example.com>", "must not contain angle brackets"),
        ('alice" <x@evil.test>', "must not contain quotes"),
        ("security@example.com", "must be a name, not an address"),
        ("a" * (MAX_AUTHOR_CHARS + 1), f"must be at most {MAX_AUTHOR_CHARS} characters"),
        ("  ", "must not be empty"),
    ],
)
def test_an_author_unfit_for_a_mail_header_is_422(
    base_url: str, sessions: sessionmaker[Session], author: str, problem: str
) -> None:
    # Given a token that lists the very name, so only the header check can refuse it
    new_ticket(sessions, CREATED)
    token = issue(sessions, "bridge", [REPLY], authors=["alice"])
    # When a reply is signed with it
    response = post(base_url, token, {"body": "Hi", "author": author})
    # Then it is refused as unprocessable, naming the problem, and nothing is stored
    assert response.status_code == 422
    assert response.json()["error"] == f"invalid reply: author: {problem}"
    assert response.json()["problems"] == [{"field": "author", "problem": problem}]
    assert replies(sessions) == []
    assert work(sessions) == 0
