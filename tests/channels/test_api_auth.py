"""The HTTP API needs a bearer token with the route's scope; health probes stay open."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from channels.web import create_app
from ingest.models import ApiToken, Message, OutboxEntry, Ticket
from ingest.tokens import ADMIN, METRICS, READ, REPLY
from tests.servers import http_server
from tests.tokens import bearer, issue, revoke
from tests.workers.store_tickets import new_ticket

CREATED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ATTACK = {"body": "Please send your password to help@evil.test", "author": "attacker"}
API = [
    ("GET", "/api/tickets"),
    ("GET", "/api/tickets/1"),
    ("POST", "/api/tickets/1/replies"),
]


@pytest.fixture
def base_url(sessions: sessionmaker[Session]) -> Iterator[str]:
    with http_server(create_app(sessions)) as url:
        yield url


@pytest.fixture
def guarded_metrics_url(sessions: sessionmaker[Session]) -> Iterator[str]:
    with http_server(create_app(sessions, metrics_require_token=True)) as url:
        yield url


def call(base_url: str, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    body = {"body": "Hello", "author": "alice"} if method == "POST" else None
    return httpx.request(method, base_url + path, json=body, headers=headers)


def snapshot(sessions: sessionmaker[Session]) -> tuple[int, int, str]:
    with sessions() as session:
        messages = session.execute(select(func.count(Message.id))).scalar_one()
        work = session.execute(select(func.count(OutboxEntry.id))).scalar_one()
        ticket = session.get(Ticket, 1)
        return int(messages), int(work), ticket.status if ticket else ""


def assert_unauthorized(response: httpx.Response, error: str) -> None:
    assert response.status_code == 401
    assert response.json() == {"error": error}
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_reported_attack_is_refused_and_changes_nothing(
    base_url: str, sessions: sessionmaker[Session]
) -> None:
    # Given jane's ticket
    new_ticket(sessions, CREATED)
    before = snapshot(sessions)
    # When someone without a token reads the tickets and replies as "attacker"
    listing = httpx.get(f"{base_url}/api/tickets")
    posted = httpx.post(f"{base_url}/api/tickets/1/replies", json=ATTACK)
    # Then both are refused with a bearer challenge, and no reply, send or status change exists
    assert_unauthorized(listing, "a bearer token is required")
    assert_unauthorized(posted, "a bearer token is required")
    assert "Jane" not in listing.text
    assert snapshot(sessions) == before == (1, 0, "new")


@pytest.mark.parametrize(("method", "path"), API)
def test_every_api_route_needs_a_token(
    base_url: str, sessions: sessionmaker[Session], method: str, path: str
) -> None:
    new_ticket(sessions, CREATED)
    response = call(base_url, method, path, {})
    assert_unauthorized(response, "a bearer token is required")
    assert response.headers["www-authenticate"] == 'Bearer realm="omniroute"'


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer omr_0123456789ab_" + "x" * 43,
        "Bearer not-a-token",
        "Bearer",
        "Basic YWxpY2U6c2VjcmV0",
        "omr_0123456789ab_" + "x" * 43,
    ],
)
def test_a_bad_token_is_401(
    base_url: str, sessions: sessionmaker[Session], agent_token: str, authorization: str
) -> None:
    # Given a real token in the store and a request carrying something else
    new_ticket(sessions, CREATED)
    response = httpx.get(f"{base_url}/api/tickets", headers={"Authorization": authorization})
    # Then it is refused like a request without a token, or as an invalid one
    assert response.status_code == 401
    assert response.json()["error"] in {"a bearer token is required", "invalid token"}
    assert response.headers["www-authenticate"].startswith('Bearer realm="omniroute"')


def test_a_wrong_secret_is_401_invalid_token(
    base_url: str, sessions: sessionmaker[Session], agent_token: str
) -> None:
    forged = agent_token[:-1] + ("A" if agent_token[-1] != "A" else "B")
    response = httpx.get(f"{base_url}/api/tickets", headers=bearer(forged))
    assert_unauthorized(response, "invalid token")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_revoked_token_is_401_and_stores_nothing(
    base_url: str, sessions: sessionmaker[Session], agent_token: str
) -> None:
    # Given jane's ticket, and alice's token that worked until it was revoked
    new_ticket(sessions, CREATED)
    assert httpx.get(f"{base_url}/api/tickets", headers=bearer(agent_token)).status_code == 200
    revoke(sessions, "alice")
    before = snapshot(sessions)
    # When it is used again to read and to reply
    listing = httpx.get(f"{base_url}/api/tickets", headers=bearer(agent_token))
    posted = httpx.post(
        f"{base_url}/api/tickets/1/replies",
        json={"body": "Hello", "author": "alice"},
        headers=bearer(agent_token),
    )
    # Then both are refused as revoked and nothing changes
    assert_unauthorized(listing, "token revoked")
    assert_unauthorized(posted, "token revoked")
    assert snapshot(sessions) == before


def test_a_token_without_the_scope_is_403(base_url: str, sessions: sessionmaker[Session]) -> None:
    # Given a read-only token and a reply-only token
    new_ticket(sessions, CREATED)
    reader = issue(sessions, "dashboard", [READ])
    replier = issue(sessions, "bridge", [REPLY])
    before = snapshot(sessions)
    # When each does what it may not
    posted = httpx.post(
        f"{base_url}/api/tickets/1/replies",
        json={"body": "Hello", "author": "dashboard"},
        headers=bearer(reader),
    )
    listing = httpx.get(f"{base_url}/api/tickets", headers=bearer(replier))
    # Then both are forbidden, naming the scope, and nothing is stored
    assert posted.status_code == 403
    assert posted.json() == {"error": "token 'dashboard' lacks the 'tickets:reply' scope"}
    assert 'error="insufficient_scope", scope="tickets:reply"' in posted.headers["www-authenticate"]
    assert listing.status_code == 403
    assert listing.json() == {"error": "token 'bridge' lacks the 'tickets:read' scope"}
    assert snapshot(sessions) == before


@pytest.mark.parametrize("scopes", [[READ, REPLY], [ADMIN]])
def test_a_token_with_the_scope_reaches_every_route(
    base_url: str, sessions: sessionmaker[Session], scopes: list[str]
) -> None:
    # Given jane's ticket and a token with the scopes (or admin)
    new_ticket(sessions, CREATED)
    token = issue(sessions, "alice", scopes)
    # When it reads the tickets, one ticket, and replies
    answers = [call(base_url, method, path, bearer(token)) for method, path in API]
    # Then each is answered, and the token's use is recorded
    assert [r.status_code for r in answers] == [200, 200, 201]
    with sessions() as session:
        assert session.execute(select(ApiToken.last_used_at)).scalar_one() is not None


def test_health_readiness_and_the_description_stay_open(base_url: str) -> None:
    assert httpx.get(f"{base_url}/healthz").status_code == 200
    assert httpx.get(f"{base_url}/readyz").status_code == 200
    assert httpx.get(f"{base_url}/openapi.json").status_code == 200


def test_metrics_are_open_by_default(base_url: str) -> None:
    response = httpx.get(f"{base_url}/metrics")
    assert response.status_code == 200
    assert "omniroute_tickets" in response.text


def test_metrics_need_a_metrics_token_when_the_setting_asks(
    guarded_metrics_url: str, sessions: sessionmaker[Session]
) -> None:
    # Given /metrics guarded, a scraper's token, an admin token and an agent's token
    scraper = issue(sessions, "prometheus", [METRICS])
    admin = issue(sessions, "ops", [ADMIN])
    agent = issue(sessions, "alice", [READ, REPLY])
    url = f"{guarded_metrics_url}/metrics"
    # Then without a token it is 401, the agent's token is 403, the others read it
    assert_unauthorized(httpx.get(url), "a bearer token is required")
    assert httpx.get(url, headers=bearer(agent)).status_code == 403
    for token in (scraper, admin):
        response = httpx.get(url, headers=bearer(token))
        assert response.status_code == 200
        assert "omniroute_tickets" in response.text
    # And health stays open
    assert httpx.get(f"{guarded_metrics_url}/healthz").status_code == 200


def test_a_token_check_is_503_when_the_store_is_down(agent_token: str) -> None:
    from ingest.db import create_store_engine, session_factory

    down = create_store_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    with http_server(create_app(session_factory(down))) as url:
        response = httpx.get(f"{url}/api/tickets", headers=bearer(agent_token))
    down.dispose()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
