"""Upgrading to due work: work handed over before counts as done, except lost ingests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from ingest.migrate import upgrade
from tests.conftest import EXTERNAL_DB


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of its own on the configured backend."""
    if not EXTERNAL_DB:
        yield f"sqlite:///{tmp_path / 'upgrade.db'}"
        return
    server = make_url(EXTERNAL_DB)
    name = f"omniroute_upgrade_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_keeps_the_ingest_of_a_pending_record_due_and_marks_the_rest_done(
    fresh_url: str,
) -> None:
    # Given a store before due work: one record processed, one still pending, and
    # their ingest work (and a triage) all handed to the broker; one row not yet relayed
    upgrade(fresh_url, "0006")
    engine = create_engine(fresh_url)
    now = "2026-01-01 10:00:00"
    with engine.begin() as conn:
        for inbound_id, status in ((1, "processed"), (2, "pending")):
            conn.execute(
                text(
                    "INSERT INTO inbound (id, channel, dedupe_key, raw, envelope, received_at, "
                    "status) VALUES (:id, 'email', :key, :raw, '{}', :now, :status)"
                ),
                {"id": inbound_id, "key": f"k{inbound_id}", "raw": b"x", "now": now,
                 "status": status},
            )  # fmt: skip
        rows = [
            (1, "ingest", '{"inbound_id": 1}', now),
            (2, "ingest", '{"inbound_id": 2}', now),
            (3, "triage", '{"ticket_id": 1}', now),
            (4, "triage", '{"ticket_id": 2}', None),
        ]
        for entry_id, actor, payload, enqueued in rows:
            conn.execute(
                text(
                    "INSERT INTO outbox (id, actor, payload, created_at, not_before, enqueued_at) "
                    "VALUES (:id, :actor, :payload, :now, :now, :enqueued)"
                ),
                {"id": entry_id, "actor": actor, "payload": payload, "now": now,
                 "enqueued": enqueued},
            )  # fmt: skip
    # When the store is upgraded
    upgrade(fresh_url)
    # Then only the lost ingest of the pending record and the unrelayed row stay due
    with engine.connect() as conn:
        due = conn.execute(
            text("SELECT id, redeliveries FROM outbox WHERE done_at IS NULL ORDER BY id")
        ).all()
    engine.dispose()
    assert [tuple(row) for row in due] == [(2, 0), (4, 0)]
