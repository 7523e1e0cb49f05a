"""A worker reads triage's category model as it starts, so its first ticket does not wait."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from config.rules import RuleSet
from config.settings import Settings
from ingest.errors import StoreUnavailable
from tests.harness import stub_broker
from workers.process.roles import worker_pool
from workers.process.runtime import Runtime
from workers.triage import rules_source
from workers.triage.classifier_loader import builtin_model
from workers.triage.live_model import LiveModel, classifier_for
from workers.triage.rules_source import RulesSource
from workers.triage.warm_up import warm_up_triage


@pytest.fixture
def model_reads(monkeypatch: pytest.MonkeyPatch) -> list[RuleSet]:
    """Every read of the model the rules source makes, counted."""
    reads: list[RuleSet] = []
    load = rules_source.load_classifier

    def counted(rules: RuleSet) -> Any:
        reads.append(rules)
        return load(rules)

    monkeypatch.setattr(rules_source, "load_classifier", counted)
    return reads


def test_the_shipped_model_is_read_once_before_the_first_ticket(
    sessions: sessionmaker[Session], model_reads: list[RuleSet], caplog: pytest.LogCaptureFixture
) -> None:
    # Given the default rules, which name no model, so the shipped one is read on first use
    source, live = RulesSource(None), LiveModel(sessions)
    assert model_reads == []
    # When the warm-up has run
    with caplog.at_level(logging.INFO, logger="workers.triage.warm_up"):
        warm_up_triage(source, live).join(timeout=120)
    # Then the model was read once, and the first ticket finds it without another read
    assert len(model_reads) == 1
    assert classifier_for(source.snapshot(), live.current()) is builtin_model()
    assert len(model_reads) == 1
    assert "category model ready in" in caplog.text


def test_a_ticket_that_comes_during_the_warm_up_waits_for_the_same_read(
    sessions: sessionmaker[Session], model_reads: list[RuleSet]
) -> None:
    # Given a warm-up under way
    source = RulesSource(None)
    warming = warm_up_triage(source, LiveModel(sessions))
    # When a ticket asks for the rules at the same time
    first_ticket = threading.Thread(target=source.snapshot)
    first_ticket.start()
    first_ticket.join(timeout=120)
    warming.join(timeout=120)
    # Then both got the shipped model from one read
    assert len(model_reads) == 1
    assert source.snapshot().classifier is builtin_model()


class _StoreDown(LiveModel):
    def current(self) -> None:
        raise StoreUnavailable("connection refused")


def test_a_store_outage_at_start_is_logged_and_left_to_the_first_ticket(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    # Given a store that cannot be reached as the worker starts
    # When the warm-up runs
    with caplog.at_level(logging.WARNING, logger="workers.triage.warm_up"):
        warm_up_triage(RulesSource(None), _StoreDown(sessions)).join(timeout=120)
    # Then it says so and ends; the worker goes on (the first ticket meets the outage
    # where outages are handled, and is retried)
    assert "reading the category model ahead of the first ticket failed" in caplog.text
    assert "connection refused" in caplog.text


def test_the_worker_role_reads_the_model_as_its_pool_starts(
    settings: Settings, sessions: sessionmaker[Session], model_reads: list[RuleSet]
) -> None:
    # Given a worker's runtime on the default rules
    broker = stub_broker()
    runtime = Runtime(
        settings=settings,
        engine=sessions.kw["bind"],
        sessions=sessions,
        broker=broker,
        rules_source=RulesSource(None),
        live_model=LiveModel(sessions),
    )
    # When the role's worker pool starts, and no message comes
    with worker_pool(runtime):
        deadline = time.monotonic() + 120
        while not model_reads and time.monotonic() < deadline:
            time.sleep(0.05)
    broker.close()
    # Then the model was read all the same, once
    assert len(model_reads) == 1
