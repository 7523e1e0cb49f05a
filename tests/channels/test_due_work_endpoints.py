"""``/readyz`` and ``/metrics`` show how long the oldest due work has waited, per kind."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from channels.web import create_app
from ingest import outbox
from ingest.models import InboundRecord, OutboxEntry, utcnow
from tests.mail import customer_mail
from tests.servers import http_server
from tests.workers.test_pipeline import send


def test_mail_the_broker_lost_shows_as_old_due_work_in_readyz_and_metrics(
    sessions: sessionmaker[Session],
) -> None:
    # Given a mail accepted 15 minutes ago whose ingest went to a broker that lost it
    send(sessions, bytes(customer_mail(subject="Lost in the broker")))
    earlier = utcnow() - timedelta(minutes=15)
    with sessions.begin() as session:
        session.execute(update(InboundRecord).values(received_at=earlier))
        session.execute(update(OutboxEntry).values(not_before=earlier, enqueued_at=earlier))
    with http_server(create_app(sessions)) as url:
        # When readiness and metrics are read
        ready = httpx.get(f"{url}/readyz").json()
        metrics = httpx.get(f"{url}/metrics").text
    # Then both show the pending record and its ingest work, and their age
    due = ready["due_work"]
    assert due["inbound"]["count"] == 1
    assert due["inbound"]["oldest_age_seconds"] >= 900
    assert due["outbox:ingest"]["count"] == 1
    assert due["delivery"] == {"count": 0, "oldest_age_seconds": 0.0}
    assert 'omniroute_due_work{kind="inbound"} 1.0' in metrics
    age = re.search(r'omniroute_due_work_oldest_age_seconds\{kind="outbox:ingest"\} (\S+)', metrics)
    assert age is not None and float(age.group(1)) >= 900
    assert 'omniroute_due_work_oldest_age_seconds{kind="acknowledgement"} 0.0' in metrics


def test_outbox_backlog_counts_rows_a_relay_claimed_but_never_handed_over(
    sessions: sessionmaker[Session],
) -> None:
    # Given outbox rows in every state a row can be in
    now = utcnow()
    with sessions.begin() as session:
        for enqueued_at, broker_message_id, done_at in [
            (None, None, None),  # waiting for the relay
            (now, outbox.RELAY_CLAIMED, None),  # claimed by a relay pass that died
            (now, "handed-1", None),  # in the broker's hands
            (now, None, None),  # claimed by the worker that wrote it
            (now, "handed-2", now),  # done
        ]:
            session.add(
                OutboxEntry(
                    actor=outbox.INGEST,
                    payload={},
                    enqueued_at=enqueued_at,
                    broker_message_id=broker_message_id,
                    done_at=done_at,
                )
            )
    with http_server(create_app(sessions)) as url:
        # When the metrics are read
        metrics = httpx.get(f"{url}/metrics").text
    # Then the backlog is what still waits for a relay to hand it over
    assert "omniroute_outbox_backlog 2.0" in metrics
