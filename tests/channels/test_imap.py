"""The IMAP reader against a real Dovecot on loopback: accept, flag or move, IDLE, restarts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from channels.imap import MailboxReader
from ingest.models import OutboxEntry
from tests.dovecot import (
    Dovecot,
    ReaderFactory,
    inbound,
    inbound_count,
    mailbox_for,
    reader_factory,
    running_dovecot,
    settled_state,
    wait_for_flag,
)
from tests.mail import customer_mail, wire
from tests.servers import wait_until

SEEN = b"\\Seen"


@pytest.fixture
def dovecot(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dovecot]:
    yield from running_dovecot(monkeypatch)


@pytest.fixture
def reader(dovecot: Dovecot, sessions: sessionmaker[Session]) -> Iterator[ReaderFactory]:
    yield from reader_factory(dovecot, sessions)


def test_new_mail_is_committed_then_flagged_seen(
    dovecot: Dovecot, reader: ReaderFactory, sessions: sessionmaker[Session]
) -> None:
    # Given a customer mail waiting in the inbox
    raw = wire(customer_mail(subject="Cannot log in"))
    dovecot.append(raw)
    # When the reader runs
    reader()
    wait_for_flag(dovecot, SEEN, 1)
    # Then the exact bytes are in the journal under the IMAP dedupe key, with ingest work
    state = settled_state(sessions, "support", 1)
    [record] = inbound(sessions)
    assert state.last_uid == 1
    assert record.raw == raw
    assert record.channel == "email"
    assert record.dedupe_key == f"imap:support:{state.uidvalidity}:1"
    assert record.envelope == {
        "mailbox": "support",
        "uid": 1,
        "uidvalidity": state.uidvalidity,
        "source": "imap",
    }
    with sessions() as session:
        assert session.query(OutboxEntry).filter_by(actor="ingest").count() == 1


def test_after_accept_move_files_the_message_in_the_target_folder(
    dovecot: Dovecot, reader: ReaderFactory, sessions: sessionmaker[Session]
) -> None:
    # Given a mailbox configured to move accepted mail to "Processed"
    dovecot.append(wire(customer_mail()))
    # When the reader runs
    reader(after_accept="move", move_to="Processed")
    # Then the message leaves the inbox for "Processed", read, and is in the journal
    wait_for_flag(dovecot, SEEN, 1, folder="Processed")
    assert dovecot.flags("INBOX") == {}
    assert inbound_count(sessions) == 1


def test_after_accept_leave_keeps_mail_unread_and_fetches_it_once(
    dovecot: Dovecot, reader: ReaderFactory, sessions: sessionmaker[Session]
) -> None:
    # Given a mailbox whose mail is left as it is, and one accepted message
    dovecot.append(wire(customer_mail(subject="first")))
    running = reader(after_accept="leave", poll_seconds=0.5)
    wait_until(lambda: inbound_count(sessions) == 1, timeout=30, what="first message")
    # When another message arrives and several polls pass
    dovecot.append(wire(customer_mail(subject="second")))
    wait_until(lambda: inbound_count(sessions) == 2, timeout=30, what="second message")
    syncs = running.stats.syncs
    wait_until(lambda: running.stats.syncs >= syncs + 2, timeout=30, what="two more polls")
    # Then both stay unread and neither was fetched twice
    assert all(SEEN not in flags for flags in dovecot.flags().values())
    assert running.stats.accepted == 2
    assert running.stats.duplicates == 0


def test_mail_arriving_during_idle_is_accepted_without_waiting_for_the_poll(
    dovecot: Dovecot, reader: ReaderFactory, sessions: sessionmaker[Session]
) -> None:
    # Given a reader idling on an empty inbox, its safety-net poll an hour away
    running = reader(poll_seconds=3600)
    wait_until(lambda: running.stats.idles == 1, timeout=30, what="the reader to idle")
    # When a message is delivered
    dovecot.append(wire(customer_mail()))
    # Then IDLE wakes the reader and the message is accepted and flagged
    wait_for_flag(dovecot, SEEN, 1)
    assert inbound_count(sessions) == 1
    assert running.stats.connection_errors == 0


def test_mail_announced_while_the_reader_flags_is_not_left_for_the_poll(
    dovecot: Dovecot, sessions: sessionmaker[Session]
) -> None:
    # Given a reader whose safety-net poll is an hour away, and a first mail waiting
    dovecot.append(wire(customer_mail(subject="First")))
    appended: list[bool] = []

    def deliver_another_while_reading() -> None:
        # The server announces this one with the answer to the reader's next command
        if not appended:
            appended.append(True)
            dovecot.append(wire(customer_mail(subject="Second")))

    running = MailboxReader(
        mailbox_for(dovecot, poll_seconds=3600),
        sessions,
        on_accepted=deliver_another_while_reading,
    )
    # When the reader accepts the first and a second arrives before it idles
    running.start()
    try:
        # Then the second is read at once, not an hour later
        wait_for_flag(dovecot, SEEN, 2)
        assert inbound_count(sessions) == 2
        assert running.stats.connection_errors == 0
    finally:
        running.stop()


def test_reader_reconnects_after_the_server_restarts(
    dovecot: Dovecot, reader: ReaderFactory, sessions: sessionmaker[Session]
) -> None:
    # Given a reader that has accepted one message and is idling
    dovecot.append(wire(customer_mail(subject="before restart")))
    running = reader(poll_seconds=3600)
    wait_for_flag(dovecot, SEEN, 1)
    # When Dovecot restarts under it and a new message arrives afterwards
    dovecot.restart()
    dovecot.append(wire(customer_mail(subject="after restart")))
    # Then the reader reconnects and accepts the new message
    wait_for_flag(dovecot, SEEN, 2)
    assert inbound_count(sessions) == 2
    assert running.stats.connection_errors >= 1


@pytest.mark.failed_work
def test_oversized_message_is_recorded_and_skipped_and_the_next_one_accepted(
    dovecot: Dovecot, reader: ReaderFactory, sessions: sessionmaker[Session]
) -> None:
    # Given an oversized message followed by a normal one
    dovecot.append(wire(customer_mail(subject="huge", body="x" * 8000)))
    dovecot.append(wire(customer_mail(subject="small")))
    # When a reader with a 4 KiB limit runs
    running = reader(max_message_bytes=4096)
    wait_for_flag(dovecot, SEEN, 1)
    # Then the small one is accepted, the big one is left unread and recorded as skipped
    from ingest.models import FailedWork

    with sessions() as session:
        [failed] = session.query(FailedWork).all()
    assert failed.stage == "imap"
    assert failed.payload["uid"] == 1
    assert "exceeds 4096" in failed.error
    assert SEEN not in dovecot.flags()[1]
    assert [r.envelope["uid"] for r in inbound(sessions)] == [2]
    state = settled_state(sessions, "support", 2)
    assert state.last_uid == 2
    assert running.stats.skipped == 1
