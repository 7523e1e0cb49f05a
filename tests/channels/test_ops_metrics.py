"""/metrics for operators: intake and lag per channel, attempts by outcome, held input."""

from __future__ import annotations

import httpx
from sqlalchemy.orm import Session, sessionmaker

from channels.web import create_app
from config.settings import Settings
from ingest.models import RefusalCount
from tests.channels.console_support import seed
from tests.servers import http_server


def test_metrics_count_intake_lag_attempts_quarantine_and_refusals(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    # Given a processed mail, a quarantined one, a delivery with two failed attempts,
    # and a refusal recorded at the SMTP edge
    seed(settings, sessions)
    with sessions.begin() as session:
        session.add(RefusalCount(channel="email", reason="unknown recipient", count=4))
    # When Prometheus scrapes
    with http_server(create_app(sessions)) as url:
        text = httpx.get(f"{url}/metrics").text
    # Then each figure is there, labelled
    assert 'omniroute_intake_total{channel="email"} 2.0' in text
    assert 'omniroute_intake_lag_seconds_max{channel="email"}' in text
    assert 'omniroute_intake_last_received_timestamp_seconds{channel="email"}' in text
    assert 'omniroute_delivery_attempts_total{destination="zendesk",outcome="retry"} 2.0' in text
    reason = "our own outbound message came back"
    assert f'omniroute_quarantined_total{{channel="email",reason="{reason}"}} 1.0' in text
    assert 'omniroute_refusals_total{channel="email",reason="unknown recipient"} 4.0' in text
