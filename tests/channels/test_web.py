"""The ASGI app: health, readiness against real store and broker, metrics, ticket API."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from channels.web import create_app
from config.settings import Settings
from ingest.db import create_store_engine, session_factory
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.servers import free_port, http_server
from tests.tokens import bearer
from tests.workers.test_pipeline import send
from workers.process.broker import create_broker, ping


@pytest.fixture
def client(
    sessions: sessionmaker[Session], settings: Settings, broker_url: str, agent_token: str
) -> Iterator[httpx.Client]:
    broker = create_broker(broker_url, settings)
    app = create_app(sessions, broker_ping=lambda: ping(broker))
    with http_server(app) as url, httpx.Client(base_url=url, headers=bearer(agent_token)) as http:
        yield http
    broker.close()


def test_healthz_answers_ok(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_is_ready_when_store_and_broker_answer(client: httpx.Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"store": "ok", "broker": "ok"}


def test_readyz_is_503_when_the_broker_is_down(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given a broker URL where nothing listens
    broker = create_broker(f"redis://127.0.0.1:{free_port()}/0", settings)
    app = create_app(sessions, broker_ping=lambda: ping(broker))
    with http_server(app) as url:
        # When readiness is asked
        response = httpx.get(f"{url}/readyz")
    # Then it is 503 and names the broker
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("error")
    assert response.json()["checks"]["store"] == "ok"


def test_readyz_is_503_when_the_store_is_down() -> None:
    down = create_store_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    with http_server(create_app(session_factory(down))) as url:
        response = httpx.get(f"{url}/readyz")
    down.dispose()
    assert response.status_code == 503
    assert response.json()["checks"]["store"].startswith("error")


def test_ticket_api_and_metrics_show_a_processed_ticket(
    client: httpx.Client, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    # Given one processed mail
    pipe = Pipeline(settings, sessions)
    try:
        send(sessions, bytes(customer_mail(subject="Where is my invoice?")))
        pipe.drain()
    finally:
        pipe.close()
    # When the API and metrics are read
    listing = client.get("/api/tickets").json()
    detail = client.get("/api/tickets/1").json()
    metrics = client.get("/metrics").text
    # Then they show the ticket, its messages and the counts
    assert [t["number"] for t in listing] == [1]
    assert detail["subject"] == "Where is my invoice?"
    assert detail["messages"][0]["direction"] == "inbound"
    assert 'omniroute_tickets{status="new"} 1.0' in metrics
    assert 'omniroute_inbound{channel="email",status="processed"} 1.0' in metrics
    assert 'omniroute_open_tickets{priority="high",team="billing"} 1.0' in metrics
    assert client.get("/api/tickets/99").status_code == 404
