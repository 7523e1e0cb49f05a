"""Posts that arrive together are stored together: one transaction, and a savepoint each
only when an ingest stops."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from channels.webforms import inline as inline_module
from channels.webforms import intake as intake_module
from channels.webforms.batches import MAX_BATCH, BatchThread
from channels.webforms.inline import TicketView
from channels.webforms.intake import Intake, Post, Sender
from config.settings import Settings
from ingest.db import create_store_engine, session_factory
from ingest.errors import StoreUnavailable
from ingest.models import InboundRecord, Message, OutboxEntry, Ticket
from ingest.rate_buckets import Limit
from ingest.raw_inputs import RawInput
from ingest.signals import Defer
from normalize.webform import CHANNEL

WAIT = 10.0


def a_post(n: int, *, limits: list[Limit] | None = None, first: bool = False) -> Post:
    raw = (
        '{"form": "contact", "files": [], "values": {"email": "ada@example.org", '
        f'"message": "It broke ({n}).", "name": "Ada", "subject": "Help {n}"}}}}'
    ).encode()
    envelope = {
        "form": "contact",
        "submission_id": f"batch{n}",
        "conversation_key": f"web:batch{n}",
        "email_field": "email",
        "name_field": "name",
        "subject_field": "subject",
        "body_fields": ["message"],
        "custom_fields": [],
        "tags": [],
        "labels": {},
        "acknowledge": True,
        "client_ip": "192.0.2.1",
    }
    if first:
        envelope["opens_conversation"] = True
    item = RawInput(CHANNEL, f"web:batch{n}", raw, envelope)
    return Post(item, limits or [], Sender("contact", "192.0.2.1", "ada@example.org"))


def test_jobs_queued_while_a_batch_runs_are_the_next_batch() -> None:
    # Given a batch thread whose first batch is held until released
    release = threading.Event()
    batches: list[list[int]] = []

    def run(jobs: Sequence[int]) -> list[int | BaseException]:
        batches.append(list(jobs))
        if jobs[0] == 0:
            release.wait(WAIT)
        return [ValueError(job) if job == 2 else job * 10 for job in jobs]

    thread: BatchThread[int, int] = BatchThread("test-batches", run)
    first = thread.submit(0)
    while not batches:
        threading.Event().wait(0.005)
    # When three more jobs arrive meanwhile, and the first batch ends
    later = [thread.submit(job) for job in (1, 2, 3)]
    release.set()
    # Then the three were one batch, and each job got its own outcome
    assert first.result(WAIT) == 0
    assert later[0].result(WAIT) == 10
    with pytest.raises(ValueError, match="2"):
        later[1].result(WAIT)
    assert later[2].result(WAIT) == 30
    assert batches == [[0], [1, 2, 3]]


def test_a_batch_that_fails_fails_every_job_in_it() -> None:
    def run(jobs: Sequence[int]) -> list[int | BaseException]:
        raise StoreUnavailable("the store is down")

    thread: BatchThread[int, int] = BatchThread("test-batches", run)
    futures: list[Future[int]] = [thread.submit(job) for job in range(3)]
    for future in futures:
        with pytest.raises(StoreUnavailable):
            future.result(WAIT)


def test_a_batch_holds_at_most_max_batch_jobs() -> None:
    release = threading.Event()
    sizes: list[int] = []

    def run(jobs: Sequence[int]) -> list[int | BaseException]:
        sizes.append(len(jobs))
        release.wait(WAIT)
        return list(jobs)

    thread: BatchThread[int, int] = BatchThread("test-batches", run)
    futures = [thread.submit(0)]
    while not sizes:
        threading.Event().wait(0.005)
    futures += [thread.submit(job) for job in range(1, MAX_BATCH + 3)]
    release.set()
    assert [f.result(WAIT) for f in futures] == list(range(MAX_BATCH + 3))
    assert sizes == [1, MAX_BATCH, 2]


def test_posts_stored_together_each_get_their_ticket_and_a_bug_in_one_spares_the_rest(
    sessions: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an intake whose accept breaks for one post only
    record_inputs = intake_module.record_inputs

    def breaks_for_the_second(conn: Any, items: list[RawInput]) -> Any:
        if any(item.dedupe_key == "web:batch2" for item in items):
            raise RuntimeError("a bug in accepting post 2")
        return record_inputs(conn, items)

    monkeypatch.setattr(intake_module, "record_inputs", breaks_for_the_second)
    intake = Intake(sessions, settings)
    # When three posts are stored together
    outcomes = intake.store_all([a_post(1), a_post(2), a_post(3)])
    # Then the first and third have their tickets, the second its error, and nothing of
    # the second is stored
    assert isinstance(outcomes[1], RuntimeError)
    first, third = outcomes[0], outcomes[2]
    assert isinstance(first, TicketView) and isinstance(third, TicketView)
    numbers = [first.number, third.number]
    with sessions() as session:
        tickets = session.execute(select(Ticket.id).order_by(Ticket.id)).scalars().all()
        keys = session.execute(select(InboundRecord.dedupe_key)).scalars().all()
    assert list(tickets) == sorted(numbers)
    assert sorted(keys) == ["web:batch1", "web:batch3"]


def test_posts_stored_together_each_take_their_tokens(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given a form bucket with room for two posts
    limits = [Limit("form:contact", 2, 1)]
    intake = Intake(sessions, settings)
    # When three posts to it are stored together
    outcomes = intake.store_all([a_post(n, limits=limits) for n in (1, 2, 3)])
    # Then two are tickets and the third is told to wait
    assert [type(o).__name__ for o in outcomes] == ["TicketView", "TicketView", "Refusal"]


def test_posts_stored_together_when_the_store_is_down_all_find_it_down(
    settings: Settings, tmp_path: Path
) -> None:
    # Given a SQLite store that cannot be opened (its file is a directory)
    (tmp_path / "store.db").mkdir()
    down = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    intake = Intake(session_factory(down), settings)
    # When two posts are stored together, then the store is unavailable to both
    with pytest.raises(StoreUnavailable, match="unable to open"):
        intake.store_all([a_post(1), a_post(2)])
    assert intake.batches is not None
    waiting = [intake.batches.submit(a_post(n)) for n in (3, 4)]
    for future in waiting:
        with pytest.raises(StoreUnavailable):
            future.result(WAIT)
    down.dispose()


def test_a_first_post_keeps_its_conversation_key_without_looking_it_up(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given the statements sent to the store
    statements: list[str] = []

    def recording(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(sessions.kw["bind"], "before_cursor_execute", recording)
    intake = Intake(sessions, settings)
    # When a post that opens its conversation is stored, and one that does not
    try:
        first = intake.store_all([a_post(1, first=True)])
        lookups_for_first = [s for s in statements if "conversation_key =" in s]
        later = intake.store_all([a_post(2)])
    finally:
        event.remove(sessions.kw["bind"], "before_cursor_execute", recording)
    # Then the first made its ticket without looking its key up, and its message keeps it
    assert isinstance(first[0], TicketView) and isinstance(later[0], TicketView)
    assert lookups_for_first == []
    assert any("conversation_key =" in s for s in statements)
    with sessions() as session:
        keys = session.execute(select(Message.conversation_key).order_by(Message.id)).scalars()
        assert list(keys) == ["web:batch1", "web:batch2"]


def test_posts_stored_together_queue_what_follows_in_one_statement_without_a_failed_ingest(
    sessions: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an inline ingest that fails for the second post once its ticket is made
    ticket_of = inline_module._ticket_of

    def fails_for_the_second(session: Session, record: InboundRecord, outcome: Any) -> Any:
        if record.dedupe_key == "web:batch2":
            raise RuntimeError("a bug after the second post's ticket")
        return ticket_of(session, record, outcome)

    monkeypatch.setattr(inline_module, "_ticket_of", fails_for_the_second)
    inserts: list[str] = []

    def recording(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO OUTBOX"):
            inserts.append(statement)

    event.listen(sessions.kw["bind"], "before_cursor_execute", recording)
    # When three posts are stored together
    try:
        outcomes = Intake(sessions, settings).store_all([a_post(n) for n in (1, 2, 3)])
    finally:
        event.remove(sessions.kw["bind"], "before_cursor_execute", recording)
    # Then the first and third have tickets (the third's made after the second's was
    # rolled back), the second is left to the worker's ingest
    first, second, third = outcomes
    assert isinstance(first, TicketView) and isinstance(third, TicketView)
    assert second is None
    with sessions() as session:
        second_id = session.execute(
            select(InboundRecord.id).where(InboundRecord.dedupe_key == "web:batch2")
        ).scalar_one()
        work = session.execute(
            select(OutboxEntry.actor, OutboxEntry.payload).order_by(OutboxEntry.id)
        ).all()
    # And the work that follows is queued for the two tickets only, with one statement
    # for it and one for the worker's ingest of the second post
    expected = [
        ("ingest", {"inbound_id": second_id}),
        ("triage", {"ticket_id": first.number}),
        ("acknowledge", {"ticket_id": first.number}),
        ("triage", {"ticket_id": third.number}),
        ("acknowledge", {"ticket_id": third.number}),
    ]
    if sessions.kw["bind"].dialect.name != "sqlite":
        # PostgreSQL stores each post in a transaction of its own, in turn
        assert sorted(map(repr, work)) == sorted(map(repr, expected))
        return
    assert [(actor, payload) for actor, payload in work] == expected
    assert len(inserts) == 2


def test_a_double_click_after_a_failed_inline_ingest_gets_the_ticket_inline(
    sessions: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an inline ingest that fails for the first post, after closing its record:
    # stored together, then again behind savepoints
    ticket_of = inline_module._ticket_of
    failures = ["together", "behind a savepoint"]

    def fails_once(session: Session, record: InboundRecord, outcome: Any) -> Any:
        if failures:
            failures.pop()
            raise RuntimeError("a bug after the record was closed")
        return ticket_of(session, record, outcome)

    monkeypatch.setattr(inline_module, "_ticket_of", fails_once)
    # When a post and its double click are stored together
    first, again = Intake(sessions, settings).store_all([a_post(1), a_post(1)])
    # Then the first is left to the worker, and the double click, finding the record
    # still pending (its close was rolled back), makes the ticket and names it
    assert first is None
    assert isinstance(again, TicketView)
    with sessions() as session:
        record = session.execute(select(InboundRecord)).scalar_one()
        assert record.status == "processed"
        assert session.get(Ticket, again.number) is not None


def test_posts_stored_together_without_trouble_take_no_savepoint(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given the statements sent to the store
    statements: list[str] = []

    def recording(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.lstrip().upper())

    event.listen(sessions.kw["bind"], "before_cursor_execute", recording)
    # When two posts are stored together and nothing stops their ingests
    try:
        outcomes = Intake(sessions, settings).store_all([a_post(1), a_post(2)])
    finally:
        event.remove(sessions.kw["bind"], "before_cursor_execute", recording)
    # Then both have tickets, made without a savepoint
    assert all(isinstance(outcome, TicketView) for outcome in outcomes)
    assert not [s for s in statements if "SAVEPOINT" in s]


def test_a_deferred_inline_ingest_leaves_its_post_to_the_worker_and_spares_the_rest(
    sessions: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an inline ingest that must wait for something on the second post
    process_record = inline_module.process_record
    attempts: list[str] = []

    def waits_on_the_second(session: Session, record: InboundRecord, *args: Any) -> Any:
        if record.dedupe_key == "web:batch2":
            attempts.append(record.dedupe_key)
            raise Defer(5, "the message it answers is not in yet")
        return process_record(session, record, *args)

    monkeypatch.setattr(inline_module, "process_record", waits_on_the_second)
    # When three posts are stored together
    first, second, third = Intake(sessions, settings).store_all([a_post(n) for n in (1, 2, 3)])
    # Then the second was tried together and again behind its savepoint, and is left to
    # the worker's ingest (pending, queued); the others have their tickets
    assert attempts == ["web:batch2", "web:batch2"]
    assert isinstance(first, TicketView) and isinstance(third, TicketView)
    assert second is None
    with sessions() as session:
        record = session.execute(
            select(InboundRecord).where(InboundRecord.dedupe_key == "web:batch2")
        ).scalar_one()
        queued = session.execute(
            select(OutboxEntry.payload).where(OutboxEntry.actor == "ingest")
        ).scalars()
        tickets = session.execute(select(Ticket.id)).scalars().all()
    assert record.status == "pending"
    assert list(queued) == [{"inbound_id": record.id}]
    assert sorted(tickets) == sorted([first.number, third.number])
