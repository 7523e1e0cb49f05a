"""One reader per mailbox: the lease in the store, alone and with two readers on one Dovecot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from ingest.mailboxes import acquire_lease, lease_holder, release_lease
from tests.dovecot import (
    Dovecot,
    ReaderFactory,
    inbound_count,
    reader_factory,
    running_dovecot,
    wait_for_flag,
)
from tests.mail import customer_mail, wire
from tests.servers import wait_until

SEEN = b"\\Seen"
LEASE_SECONDS = 2.0


@pytest.fixture
def dovecot(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dovecot]:
    yield from running_dovecot(monkeypatch)


@pytest.fixture
def reader(dovecot: Dovecot, sessions: sessionmaker[Session]) -> Iterator[ReaderFactory]:
    yield from reader_factory(dovecot, sessions)


def test_a_held_lease_is_refused_to_others_and_renewed_for_its_holder(
    sessions: sessionmaker[Session],
) -> None:
    # Given a lease held by "a"
    assert acquire_lease(sessions, "imap:support", "a", 60)
    # When "b" asks for it and "a" renews it
    taken_by_b = acquire_lease(sessions, "imap:support", "b", 60)
    renewed_by_a = acquire_lease(sessions, "imap:support", "a", 60)
    # Then only "a" holds it
    assert not taken_by_b
    assert renewed_by_a
    assert lease_holder(sessions, "imap:support") == "a"


def test_an_expired_lease_goes_to_the_next_asker(sessions: sessionmaker[Session]) -> None:
    # Given a lease whose holder stopped renewing (its ttl already over)
    assert acquire_lease(sessions, "imap:support", "a", 0)
    # When "b" asks for it
    taken = acquire_lease(sessions, "imap:support", "b", 60)
    # Then "b" holds it and "a" cannot take it back
    assert taken
    assert lease_holder(sessions, "imap:support") == "b"
    assert not acquire_lease(sessions, "imap:support", "a", 60)


def test_release_frees_the_lease_only_for_its_holder(sessions: sessionmaker[Session]) -> None:
    # Given a lease held by "a"
    acquire_lease(sessions, "imap:support", "a", 60)
    # When "b" releases it, nothing changes; when "a" does, it is free
    release_lease(sessions, "imap:support", "b")
    assert lease_holder(sessions, "imap:support") == "a"
    release_lease(sessions, "imap:support", "a")
    assert lease_holder(sessions, "imap:support") is None


def test_two_readers_on_one_mailbox_only_the_lease_holder_fetches(
    dovecot: Dovecot, reader: ReaderFactory, sessions: sessionmaker[Session]
) -> None:
    # Given two readers started on the same mailbox. (Dovecot announces a mail delivered
    # while a reader goes back into IDLE only at its next check, tens of seconds later:
    # the holder's look 2 s after a sync that took mail is what takes it then.)
    one = reader(lease_seconds=LEASE_SECONDS)
    two = reader(lease_seconds=LEASE_SECONDS)
    wait_until(lambda: one.holding or two.holding, timeout=30, what="a lease holder")
    holder, other = (one, two) if one.holding else (two, one)
    # When three mails arrive and several lease renewals pass
    for n in range(3):
        dovecot.append(wire(customer_mail(subject=f"Mail {n}")))
    wait_for_flag(dovecot, SEEN, 3)
    # Then the holder fetched all three and the other fetched nothing
    assert inbound_count(sessions) == 3
    assert (holder.stats.accepted, holder.stats.duplicates) == (3, 0)
    assert (other.stats.accepted, other.stats.duplicates, other.stats.syncs) == (0, 0, 0)
    assert lease_holder(sessions, "imap:support") == holder.holder
    assert not other.holding


def test_when_the_holder_dies_the_other_reader_takes_over_after_the_lease_expires(
    dovecot: Dovecot, reader: ReaderFactory, sessions: sessionmaker[Session]
) -> None:
    # Given a holder that has read a mail, and a second reader waiting
    dovecot.append(wire(customer_mail(subject="Before")))
    first = reader(lease_seconds=LEASE_SECONDS)
    wait_for_flag(dovecot, SEEN, 1)
    second = reader(lease_seconds=LEASE_SECONDS)
    # When the holder dies without releasing its lease, and a mail arrives
    first.stop(release=False)
    assert lease_holder(sessions, "imap:support") in (first.holder, None)
    dovecot.append(wire(customer_mail(subject="After")))
    # Then, once the lease has expired, the second reader takes it and reads the mail
    wait_for_flag(dovecot, SEEN, 2)
    assert second.holding
    assert lease_holder(sessions, "imap:support") == second.holder
    assert (first.stats.accepted, second.stats.accepted) == (1, 1)
    assert inbound_count(sessions) == 2


def test_a_clean_stop_releases_the_lease(
    dovecot: Dovecot, reader: ReaderFactory, sessions: sessionmaker[Session]
) -> None:
    # Given a reader holding the mailbox's lease
    running = reader(lease_seconds=60)
    wait_until(lambda: running.holding, timeout=30, what="the lease")
    # When it stops cleanly
    running.stop()
    # Then the lease is free at once for the next process
    assert lease_holder(sessions, "imap:support") is None
