"""The ASGI app's answers at the edge of its inputs, and the edge counters in ``/metrics``."""

from __future__ import annotations

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session, sessionmaker

from channels.edge_metrics import EDGE_INTERNAL_ERRORS
from channels.web import create_app
from tests.servers import http_server
from tests.tokens import bearer


def test_ticket_number_past_the_store_range_is_404(
    sessions: sessionmaker[Session], agent_token: str
) -> None:
    with http_server(create_app(sessions)) as url:
        # When a ticket number larger than any the store can hold is asked for
        response = httpx.get(
            f"{url}/api/tickets/99999999999999999999999", headers=bearer(agent_token)
        )
    # Then it is an ordinary "no such ticket", not a server error
    assert response.status_code == 404
    assert response.json() == {"error": "no ticket #99999999999999999999999"}


def test_edge_internal_errors_are_served_in_metrics(sessions: sessionmaker[Session]) -> None:
    # Given an internal error counted by the SMTP edge of this process
    EDGE_INTERNAL_ERRORS.labels(channel="email").inc()
    own = CollectorRegistry()
    own.register(EDGE_INTERNAL_ERRORS)
    expected = own.get_sample_value("omniroute_edge_internal_errors_total", {"channel": "email"})
    with http_server(create_app(sessions)) as url:
        # When metrics are scraped
        body = httpx.get(f"{url}/metrics").text
    # Then the counter is there for an operator to alert on
    assert f'omniroute_edge_internal_errors_total{{channel="email"}} {expected}' in body
