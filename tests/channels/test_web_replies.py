"""``POST /api/tickets/{number}/replies`` over HTTP: stored, validated, bounded, honest."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from channels.web import create_app
from channels.web_replies import MAX_REQUEST_BYTES
from config.settings import Settings
from ingest import outbox
from ingest.db import create_store_engine, session_factory
from ingest.models import Identity, Message, OutboxEntry, Ticket, utcnow
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.servers import http_server
from tests.tokens import bearer
from tests.workers.store_tickets import new_ticket
from tests.workers.test_pipeline import send

CREATED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def woken() -> threading.Event:
    return threading.Event()


@pytest.fixture
def client(
    sessions: sessionmaker[Session], woken: threading.Event, agent_token: str
) -> Iterator[httpx.Client]:
    with (
        http_server(create_app(sessions, on_work=woken.set)) as url,
        httpx.Client(base_url=url, headers=bearer(agent_token)) as http,
    ):
        yield http


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as session:
        messages = session.execute(select(func.count(Message.id))).scalar_one()
        work = session.execute(select(func.count(OutboxEntry.id))).scalar_one()
        return int(messages), int(work)


def test_a_reply_is_created_and_answered_with_the_stored_message(
    client: httpx.Client, sessions: sessionmaker[Session], woken: threading.Event
) -> None:
    # Given jane's new ticket
    number = new_ticket(sessions, CREATED)
    # When alice posts a reply that solves it
    response = client.post(
        f"/api/tickets/{number}/replies",
        json={"body": "Fixed, sorry for the trouble.", "author": "alice", "status": "solved"},
    )
    # Then it is created, and the answer shows the reply, the new status and the stopped clocks
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/api/tickets/{number}"
    reply = response.json()
    assert (reply["direction"], reply["kind"], reply["from"], reply["to"]) == (
        "outbound",
        "reply",
        "alice",
        "jane@customer.test",
    )
    assert reply["body_text"] == "Fixed, sorry for the trouble."
    assert reply["send_state"] == "queued"
    assert reply["ticket"]["status"] == "solved"
    assert reply["ticket"]["sla"]["first_responded_at"] is not None
    assert reply["ticket"]["sla"]["resolved_at"] is not None
    # And the store has the message and its send work, and the relay was woken
    with sessions() as session:
        stored = session.get(Message, reply["id"])
        assert stored is not None and stored.body_text == "Fixed, sorry for the trouble."
        work = session.execute(
            select(OutboxEntry.payload).where(OutboxEntry.actor == outbox.SEND_REPLY)
        ).scalar_one()
        assert work == {"message_id": reply["id"]}
    assert woken.is_set()
    # And the ticket API shows the reply on the ticket
    detail = client.get(f"/api/tickets/{number}").json()
    assert [m["kind"] for m in detail["messages"]] == ["message", "reply", "event"]


def test_a_reply_to_a_bouncing_address_says_it_will_not_be_sent(
    client: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given a ticket whose customer's address bounces
    number = new_ticket(sessions, CREATED)
    with sessions.begin() as session:
        ticket = session.get(Ticket, number)
        assert ticket is not None
        session.add(
            Identity(
                customer_id=ticket.customer_id,
                kind="email",
                value="jane@customer.test",
                bouncing_since=utcnow(),
            )
        )
    # When alice replies
    response = client.post(
        f"/api/tickets/{number}/replies", json={"body": "Hello", "author": "alice"}
    )
    # Then the reply is kept, and the answer says it will not be sent and why
    assert response.status_code == 201
    assert response.json()["send_state"] == "not sent"
    assert response.json()["warnings"] == ["not sent: mail to jane@customer.test bounces"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"body": "", "author": "alice"}', "body: String should have at least 1 character"),
        (b'{"body": "  ", "author": "alice"}', "body: Value error, must not be empty"),
        (b'{"author": "alice"}', "body: Field required"),
        (b'{"body": "Hi", "author": "alice", "status": "closed"}', "status: Input should be"),
        (b'{"body": "Hi", "author": "alice", "to": "x@y.test"}', "to: Extra inputs"),
        (b'{"body": "Hi", "author": 7}', "author: Input should be a valid string"),
        (b'["Hi"]', "request: Input should be an object"),
        (b"body=Hi", "request: Invalid JSON"),
    ],
)
def test_bad_input_is_refused_with_the_problem_named(
    client: httpx.Client, sessions: sessionmaker[Session], body: bytes, problem: str
) -> None:
    # Given a ticket
    number = new_ticket(sessions, CREATED)
    before = counts(sessions)
    # When a malformed reply is posted
    response = client.post(
        f"/api/tickets/{number}/replies",
        content=body,
        headers={"content-type": "application/json"},
    )
    # Then it is refused with the problem named, and nothing is stored
    assert response.status_code == 400
    assert response.json()["error"].startswith("invalid reply: ")
    assert problem in response.json()["error"]
    assert response.json()["problems"]
    assert counts(sessions) == before


def test_a_reply_to_an_unknown_ticket_is_404(
    client: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    # Given no ticket 99; when a reply to it is posted, then it is 404 and nothing is stored
    response = client.post("/api/tickets/99/replies", json={"body": "Hi", "author": "alice"})
    assert response.status_code == 404
    assert response.json() == {"error": "no ticket #99"}
    assert counts(sessions) == (0, 0)


def test_a_ticket_number_that_is_not_a_number_is_400(client: httpx.Client) -> None:
    response = client.post("/api/tickets/abc/replies", json={"body": "Hi", "author": "alice"})
    assert response.status_code == 400
    assert response.json() == {"error": "ticket number must be an integer"}


@pytest.mark.parametrize("chunked", [False, True])
def test_a_request_over_the_size_limit_is_413(
    client: httpx.Client, sessions: sessionmaker[Session], chunked: bool
) -> None:
    # Given a ticket and a request body one byte over the limit
    number = new_ticket(sessions, CREATED)
    padding = MAX_REQUEST_BYTES - len(b'{"author": "alice", "body": ""}') + 1
    body = b'{"author": "alice", "body": "' + b"x" * padding + b'"}'
    assert len(body) == MAX_REQUEST_BYTES + 1
    # When it is posted with its length declared, or streamed in chunks without one
    content: bytes | Iterator[bytes] = (
        iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
    )
    response = client.post(f"/api/tickets/{number}/replies", content=content)
    # Then it is refused as too large and nothing is stored
    assert response.status_code == 413
    assert response.json() == {"error": f"request body exceeds {MAX_REQUEST_BYTES} bytes"}
    assert counts(sessions) == (1, 0)


def test_a_reply_is_503_when_the_store_is_down(agent_token: str) -> None:
    # Given an app whose store does not answer
    down = create_store_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    with http_server(create_app(session_factory(down))) as url:
        # When a reply is posted with a token (which cannot be checked either)
        response = httpx.post(
            f"{url}/api/tickets/1/replies",
            json={"body": "Hi", "author": "alice"},
            headers=bearer(agent_token),
        )
    down.dispose()
    # Then the client is told to try again later
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {"error": "the store is unavailable, try again later"}


def test_a_reply_posted_over_http_reaches_the_customer(
    client: httpx.Client, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    # Given jane's ticket, acknowledged by the workers
    pipe = Pipeline(settings, sessions)
    try:
        send(sessions, bytes(customer_mail(subject="Cannot log in")))
        pipe.drain()
        # When alice replies over HTTP and the workers run
        response = client.post(
            "/api/tickets/1/replies", json={"body": "Try again now.", "author": "alice"}
        )
        pipe.drain()
    finally:
        pipe.close()
    # Then jane got the reply, and the ticket API shows it as sent with its Message-ID
    assert response.status_code == 201
    (mail,) = [m for m, _ in pipe.transport.sent if m["Auto-Submitted"] is None]
    assert mail.get_content() == "Try again now.\n"
    assert mail["From"] == '"alice (Support)" <support@example.com>'

    detail = client.get("/api/tickets/1").json()
    (shown,) = [m for m in detail["messages"] if m["kind"] == "reply"]
    assert shown["external_id"] == mail["Message-ID"]
