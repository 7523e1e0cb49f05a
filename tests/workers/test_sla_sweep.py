"""The SLA sweep in the store: a breach escalates exactly once, however often it runs."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.rules import RuleSet, load_rules_text
from config.settings import Settings
from ingest import outbox
from ingest.db import unit_of_work
from ingest.models import Delivery, Message, OutboxEntry, SlaBreach, Ticket, utcnow
from tests.harness import Pipeline
from tests.workers.store_tickets import new_ticket, timeline
from tests.workers.webhook_receiver import WebhookReceiver
from workers.delivery.planning import ESCALATED
from workers.sla.sweep import SlaSweepLoop, sweep
from workers.triage.decide import triage_ticket

TEAMS_TEXT = (Path(__file__).parents[1] / "fixtures" / "rules" / "teams.yaml").read_text()
BERLIN = ZoneInfo("Europe/Berlin")
WEDNESDAY_10AM = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
# The medium target answers within 4 business hours: due Wednesday 14:00.
WEDNESDAY_3PM = datetime(2026, 11, 25, 15, 0, tzinfo=BERLIN)


def rules() -> RuleSet:
    return load_rules_text(TEAMS_TEXT, source="teams.yaml")


def triaged_ticket(sessions: sessionmaker[Session], created_at: datetime = WEDNESDAY_10AM) -> int:
    ticket_id = new_ticket(sessions, created_at)
    with unit_of_work(sessions) as session:
        triage_ticket(session, ticket_id, rules(), created_at)
    return ticket_id


def breaches(sessions: sessionmaker[Session]) -> list[tuple[int, str, list[str]]]:
    with sessions() as session:
        rows = session.execute(
            select(SlaBreach.ticket_id, SlaBreach.kind, SlaBreach.actions).order_by(SlaBreach.id)
        ).all()
        return [(ticket_id, kind, list(actions)) for ticket_id, kind, actions in rows]


def escalations(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as session:
        rows = session.execute(
            select(Delivery.destination, Message.body_text)
            .join(Message, Message.id == Delivery.message_id)
            .where(Delivery.event == ESCALATED)
            .order_by(Delivery.id)
        ).all()
        return [(destination, body) for destination, body in rows]


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def stored(sessions: sessionmaker[Session], ticket_id: int) -> Ticket:
    with sessions() as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None
        return found


def test_a_missed_first_response_escalates_the_ticket(sessions: sessionmaker[Session]) -> None:
    # Given a medium ticket created Wednesday 10:00, unanswered at 15:00
    ticket_id = triaged_ticket(sessions)
    # When the sweep runs
    escalated = sweep(sessions, rules(), now=WEDNESDAY_3PM)
    # Then one breach is recorded with what was done
    assert escalated == 1
    assert breaches(sessions) == [
        (
            ticket_id,
            "first_response",
            ["priority medium -> high", "escalated to helpdesk", "notified oncall"],
        )
    ]
    # And the priority is up one level, with the high targets' due dates (1h / 8h)
    ticket = stored(sessions, ticket_id)
    assert ticket.priority == "high"
    assert ticket.resolution_due_at == datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN)
    # And the breach is on the timeline, handed as ticket.escalated to both destinations
    said = (
        "SLA breached: first response was due 2026-11-25 13:00 UTC; "
        "priority raised from medium to high; escalated to helpdesk; notified oncall."
    )
    assert timeline(sessions, ticket_id)[-1] == said
    assert escalations(sessions) == [("helpdesk", said), ("oncall", said)]
    with sessions() as session:
        work = session.execute(
            select(func.count()).where(OutboxEntry.actor == outbox.DELIVER)
        ).scalar_one()
        assert work == 2


def test_sweeping_again_changes_nothing_more(sessions: sessionmaker[Session]) -> None:
    # Given a ticket the sweep already escalated
    ticket_id = triaged_ticket(sessions)
    sweep(sessions, rules(), now=WEDNESDAY_3PM)
    before = (count(sessions, Delivery), count(sessions, Message), count(sessions, OutboxEntry))
    # When the sweep runs again
    escalated = sweep(sessions, rules(), now=WEDNESDAY_3PM + timedelta(minutes=1))
    # Then nothing is escalated, planned or recorded again
    assert escalated == 0
    assert len(breaches(sessions)) == 1
    assert stored(sessions, ticket_id).priority == "high"
    after = (count(sessions, Delivery), count(sessions, Message), count(sessions, OutboxEntry))
    assert after == before


def test_each_missed_target_escalates_once(sessions: sessionmaker[Session]) -> None:
    # Given a ticket escalated for its first response (now high: resolution due Thursday 10:00)
    ticket_id = triaged_ticket(sessions)
    sweep(sessions, rules(), now=WEDNESDAY_3PM)
    # When the sweep runs after the resolution was due too
    escalated = sweep(sessions, rules(), now=datetime(2026, 11, 26, 11, 0, tzinfo=BERLIN))
    # Then the resolution breach escalates once more, to critical
    assert escalated == 1
    assert [kind for _, kind, _ in breaches(sessions)] == ["first_response", "resolution"]
    assert stored(sessions, ticket_id).priority == "critical"
    assert len(escalations(sessions)) == 4


def test_an_answered_ticket_is_not_escalated_for_its_first_response(
    sessions: sessionmaker[Session],
) -> None:
    # Given a ticket an agent answered at 11:00
    ticket_id = triaged_ticket(sessions)
    with sessions.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.first_responded_at = datetime(2026, 11, 25, 11, 0, tzinfo=BERLIN)
    # When the sweep runs after the first response was due
    escalated = sweep(sessions, rules(), now=WEDNESDAY_3PM)
    # Then nothing happens
    assert escalated == 0
    assert breaches(sessions) == []
    assert stored(sessions, ticket_id).priority == "medium"


def test_a_solved_ticket_is_not_escalated(sessions: sessionmaker[Session]) -> None:
    # Given a ticket solved without an answer
    ticket_id = triaged_ticket(sessions)
    with sessions.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.status = "solved"
    # When the sweep runs long after both due dates
    escalated = sweep(sessions, rules(), now=WEDNESDAY_3PM + timedelta(days=30))
    # Then nothing happens
    assert escalated == 0
    assert breaches(sessions) == []


def test_two_sweeps_at_once_escalate_once(sessions: sessionmaker[Session]) -> None:
    # Given a breached ticket and two schedulers
    triaged_ticket(sessions)
    results: list[int] = []
    start = threading.Barrier(2)

    def scheduler() -> None:
        start.wait()
        results.append(sweep(sessions, rules(), now=WEDNESDAY_3PM))

    # When both sweep at the same moment
    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly one of them escalated it: one breach, one hand-off per destination
    assert sorted(results) == [0, 1]
    assert len(breaches(sessions)) == 1
    assert [destination for destination, _ in escalations(sessions)] == ["helpdesk", "oncall"]


def test_the_sweep_takes_a_bounded_batch(sessions: sessionmaker[Session]) -> None:
    # Given three breached tickets
    for _ in range(3):
        triaged_ticket(sessions)
    # When one sweep may take two
    first = sweep(sessions, rules(), now=WEDNESDAY_3PM, limit=2)
    second = sweep(sessions, rules(), now=WEDNESDAY_3PM, limit=2)
    # Then two escalate in the first batch and the third in the next
    assert (first, second) == (2, 1)
    assert len(breaches(sessions)) == 3


def test_the_scheduler_loop_sweeps_on_its_interval(sessions: sessionmaker[Session]) -> None:
    # Given a ticket created twenty days ago and never answered or resolved
    ticket_id = triaged_ticket(sessions, utcnow() - timedelta(days=20))
    woken = threading.Event()
    loop = SlaSweepLoop(sessions, rules, interval=0.05, on_work=woken.set)
    # When the scheduler's loop runs
    loop.start()
    try:
        deadline = time.monotonic() + 30
        while not breaches(sessions) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        loop.stop()
    # Then it escalated both missed targets in one go and woke the relay for the hand-offs
    assert [kind for _, kind, _ in breaches(sessions)] == ["first_response", "resolution"]
    assert stored(sessions, ticket_id).priority == "critical"
    assert woken.is_set()


def test_an_escalation_reaches_the_escalation_destination(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given rules whose escalation destination is a webhook receiver on loopback
    monkeypatch.setenv("OMNIROUTE_TEST_WEBHOOK_SECRET", "test-secret")
    with WebhookReceiver(secret=b"test-secret") as receiver:
        text = TEAMS_TEXT.replace("http://127.0.0.1:9/hook", receiver.url_for("/hook"))
        live = load_rules_text(text.replace("notify: [oncall]", "notify: []"))
        ticket_id = new_ticket(sessions, WEDNESDAY_10AM)
        with unit_of_work(sessions) as session:
            triage_ticket(session, ticket_id, live, WEDNESDAY_10AM)
        pipeline = Pipeline(settings, sessions, live)
        try:
            # When the sweep escalates the ticket and the workers run
            sweep(sessions, live, now=WEDNESDAY_3PM)
            pipeline.drain()
        finally:
            pipeline.close()
        # Then the receiver got one signed ticket.escalated naming the breach
        (request,) = receiver.wait_for(1)
    assert request.signature_valid
    document = request.json()
    assert document["event"] == ESCALATED
    assert document["ticket"]["number"] == ticket_id
    assert document["ticket"]["priority"] == "high"
    assert document["message"]["body_text"].startswith("SLA breached: first response")
