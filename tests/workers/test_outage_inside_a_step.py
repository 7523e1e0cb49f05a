"""A store outage inside a step the ingest guards with a savepoint (a deadlock, a lost
connection) fails the whole transaction to be retried; it is never that step's bug."""

from __future__ import annotations

from typing import Any

import psycopg
import psycopg.errors
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.db import is_store_trouble
from ingest.errors import StoreUnavailable
from ingest.models import FailedWork, InboundRecord, Ticket
from tests.edge import accept_mail
from tests.harness import Pipeline
from tests.mail import customer_mail
from workers.process import actors, continuation


def deadlock() -> DBAPIError:
    """A deadlock as SQLAlchemy raises it around psycopg's error (SQLSTATE 40P01)."""
    return DBAPIError.instance(
        "UPDATE tickets", {}, psycopg.errors.DeadlockDetected("deadlock detected"), psycopg.Error
    )


def test_store_trouble_is_an_outage_in_either_form_and_nothing_else() -> None:
    assert is_store_trouble(StoreUnavailable("down"))
    assert is_store_trouble(deadlock())
    assert not is_store_trouble(ValueError("a bug"))


def test_a_deadlock_in_triage_is_retried_not_recorded_as_a_bug(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given triage hits a deadlock the first time it runs
    real = continuation.triage_ticket
    calls: list[int] = []

    def deadlocks_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise deadlock()
        return real(*args, **kwargs)

    monkeypatch.setattr(continuation, "triage_ticket", deadlocks_once)
    ingest = actors.process_inbound
    ingests: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        ingests.append(1)
        return ingest(*args, **kwargs)

    monkeypatch.setattr(actors, "process_inbound", counted)
    pipe = Pipeline(settings, sessions)
    try:
        inbound_id = accept_mail(sessions, bytes(customer_mail())).inbound_id
        # When the workers run
        pipe.drain()
        # Then the whole ingest ran again (not only the step, in a transaction a deadlock
        # may have spoiled): one ticket, no bug recorded, the record processed
        assert len(ingests) == 2
        with sessions() as session:
            assert session.execute(select(func.count(Ticket.id))).scalar_one() == 1
            assert session.execute(select(func.count(FailedWork.id))).scalar_one() == 0
            record = session.get(InboundRecord, inbound_id)
            assert record is not None and record.status == "processed"
        assert len(calls) == 2
        assert len(pipe.transport.sent) == 1
    finally:
        pipe.close()
