"""The durable accept: one record and one outbox row per new key, duplicates reported."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ingest.accept import accept_batch, accept_raw
from ingest.models import InboundRecord, OutboxEntry
from ingest.raw_inputs import RawInput


def rows(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_batch_stores_new_inputs_and_reports_repeats_as_duplicates(
    sessions: sessionmaker[Session],
) -> None:
    # Given one input already stored
    first = accept_raw(sessions, channel="email", dedupe_key="k1", raw=b"one", envelope={})
    # When a batch repeats it, adds a new key, and repeats the new key within the batch
    batch = [RawInput("email", key, b"raw", {}) for key in ("k1", "k2", "k2")]
    results = accept_batch(sessions, batch)
    # Then only k2 is new, once; every result names the stored record
    assert [r.duplicate for r in results] == [True, False, True]
    assert results[0].inbound_id == first.inbound_id
    assert results[1].inbound_id == results[2].inbound_id != first.inbound_id
    # And there is one record and one outbox row per key
    assert rows(sessions, InboundRecord) == 2
    assert rows(sessions, OutboxEntry) == 2
