"""The IMAP reader when things go wrong: UIDVALIDITY changes, unparseable mail, the store down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.db import create_store_engine, session_factory
from ingest.mailboxes import load_state
from ingest.models import Message
from tests.conftest import fixture_bytes
from tests.dovecot import (
    Dovecot,
    ReaderFactory,
    inbound,
    inbound_count,
    reader_factory,
    running_dovecot,
    settled_state,
    wait_for_flag,
)
from tests.harness import Pipeline
from tests.mail import customer_mail, wire
from tests.servers import wait_until

SEEN = b"\\Seen"
UNREACHABLE_DB = "postgresql+psycopg://postgres@127.0.0.1:1/none"


@pytest.fixture
def dovecot(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dovecot]:
    yield from running_dovecot(monkeypatch)


@pytest.fixture
def reader(dovecot: Dovecot, sessions: sessionmaker[Session]) -> Iterator[ReaderFactory]:
    yield from reader_factory(dovecot, sessions)


@pytest.fixture
def pipeline(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Pipeline]:
    pipe = Pipeline(settings, sessions)
    yield pipe
    pipe.close()


def ticket_messages(sessions: sessionmaker[Session]) -> list[Message]:
    with sessions() as session:
        return list(session.scalars(select(Message).where(Message.direction == "inbound")))


def test_uidvalidity_change_reads_the_folder_again_without_duplicate_ticket_messages(
    dovecot: Dovecot,
    reader: ReaderFactory,
    sessions: sessionmaker[Session],
    pipeline: Pipeline,
) -> None:
    # Given two customer mails read from "Support" and turned into ticket messages
    mails = [wire(customer_mail(subject=f"Question {n}")) for n in (1, 2)]
    with dovecot.client() as client:
        client.create_folder("Support")
    for raw in mails:
        dovecot.append(raw, folder="Support")
    first = reader(folder="Support")
    wait_for_flag(dovecot, SEEN, 2, folder="Support")
    first.stop()
    pipeline.drain()
    before = load_state(sessions, "support")
    assert before is not None and len(ticket_messages(sessions)) == 2
    # When the folder is recreated (new UIDVALIDITY) holding the same mails and a new one
    with dovecot.client() as client:
        client.delete_folder("Support")
        client.create_folder("Support")
    for raw in [*mails, wire(customer_mail(subject="Question 3"))]:
        dovecot.append(raw, folder="Support")
    reader(folder="Support")
    wait_for_flag(dovecot, SEEN, 3, folder="Support")
    pipeline.drain()
    # Then every message is journaled again under the new UIDVALIDITY ...
    after = settled_state(sessions, "support", 3)
    assert after.uidvalidity != before.uidvalidity
    assert after.last_uid == 3
    records = inbound(sessions)
    assert len(records) == 5
    # ... and only the new mail becomes a ticket message; the others are duplicates
    assert [r.status for r in records] == [
        "processed",
        "processed",
        "duplicate",
        "duplicate",
        "processed",
    ]
    assert len(ticket_messages(sessions)) == 3


def test_unparseable_message_is_kept_and_quarantined_and_the_mailbox_goes_on(
    dovecot: Dovecot,
    reader: ReaderFactory,
    sessions: sessionmaker[Session],
    pipeline: Pipeline,
) -> None:
    # Given binary garbage in the inbox, followed by a customer mail
    dovecot.append(fixture_bytes("email", "garbage.eml"))
    dovecot.append(wire(customer_mail(subject="Real question")))
    # When the reader runs and the workers process what it stored
    reader()
    wait_for_flag(dovecot, SEEN, 2)
    pipeline.drain()
    # Then the garbage is kept raw and quarantined, and the mail after it became a ticket
    garbage, mail = inbound(sessions)
    assert garbage.status == "quarantined"
    assert garbage.status_reason
    assert garbage.raw.startswith(b"\xff\xfe")
    assert mail.status == "processed"
    [message] = ticket_messages(sessions)
    assert message.subject == "Real question"


def test_store_down_leaves_the_message_unread_until_it_is_committed(
    dovecot: Dovecot,
    reader: ReaderFactory,
    sessions: sessionmaker[Session],
    database_url: str,
) -> None:
    # Given a reader idling on an empty inbox
    reader_engine = create_store_engine(database_url)
    reader_sessions = session_factory(reader_engine)
    running = reader(sessions_=reader_sessions, poll_seconds=3600)
    wait_until(lambda: running.stats.syncs == 1, timeout=30, what="first sync")
    # When the store goes away and a mail arrives
    down = create_store_engine(UNREACHABLE_DB, statement_timeout_ms=1000)
    reader_sessions.configure(bind=down)
    dovecot.append(wire(customer_mail()))
    wait_until(lambda: running.stats.store_errors >= 1, timeout=30, what="a store failure")
    # Then the mail is neither flagged nor counted as done
    assert SEEN not in dovecot.flags()[1]
    assert inbound_count(sessions) == 0
    state = load_state(sessions, "support")
    assert state is not None and state.last_uid == 0
    # And once the store is back, the mail is committed and only then flagged
    reader_sessions.configure(bind=reader_engine)
    wait_for_flag(dovecot, SEEN, 1)
    state = settled_state(sessions, "support", 1)
    [record] = inbound(sessions)
    assert record.envelope["uid"] == 1
    assert state.last_uid == 1
    running.stop()
    down.dispose()
    reader_engine.dispose()
