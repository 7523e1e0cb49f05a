"""Housekeeping: done work, old refused posts and idle rate buckets are pruned; nothing else."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.form_settings import FormSettings
from config.settings import Settings
from ingest.db import unit_of_work
from ingest.models import FormRefusal, InboundRecord, OutboxEntry, RateBucket
from ingest.prune import Pruned, Retention, prune
from ingest.rate_buckets import Limit, take_each
from workers.cli import main
from workers.process.housekeeping import Housekeeper, retention_for

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
KEEP = Retention(
    done_work=timedelta(days=30), refused_posts=timedelta(days=30), idle_buckets=timedelta(days=1)
)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def work(sessions: sessionmaker[Session], created: datetime, done: datetime | None) -> int:
    with unit_of_work(sessions) as session:
        entry = OutboxEntry(
            actor="acknowledge",
            payload={"ticket_id": 1},
            created_at=created,
            not_before=created,
            enqueued_at=created,
            done_at=done,
        )
        session.add(entry)
        session.flush()
        return entry.id


def refused_post(
    sessions: sessionmaker[Session], created: datetime, *, released: bool = False
) -> int:
    with unit_of_work(sessions) as session:
        inbound = None
        if released:
            inbound = InboundRecord(
                channel="web", dedupe_key=f"web:released:{created}", raw=b"{}", envelope={}
            )
            session.add(inbound)
            session.flush()
        row = FormRefusal(
            form="contact",
            reason="honeypot",
            detail="the hidden field was filled in",
            raw=b"name=bot",
            envelope={},
            created_at=created,
            released_at=created if released else None,
            inbound_id=None if inbound is None else inbound.id,
        )
        session.add(row)
        session.flush()
        return row.id


def ids(sessions: sessionmaker[Session], key: object) -> set[object]:
    with sessions() as session:
        return set(session.execute(select(key)).scalars())  # type: ignore[call-overload]


def test_done_work_past_the_days_kept_is_deleted_and_work_not_done_stays(
    sessions: sessionmaker[Session],
) -> None:
    # Given work done long ago, work done recently, and old work never done (due, or lost)
    old_done = [work(sessions, days_ago(40), days_ago(40)) for _ in range(3)]
    recent = work(sessions, days_ago(40), days_ago(2))
    never_done = work(sessions, days_ago(90), None)
    # When the store is pruned, in chunks smaller than what it finds
    pruned = prune(sessions, KEEP, NOW, chunk=2)
    # Then only the work done more than 30 days ago is gone
    assert pruned == Pruned(done_work=3, refused_posts=0, idle_buckets=0)
    assert ids(sessions, OutboxEntry.id) == {recent, never_done}
    assert not set(old_done) & ids(sessions, OutboxEntry.id)


def test_refused_posts_past_the_days_kept_are_deleted_and_a_released_ticket_stays(
    sessions: sessionmaker[Session],
) -> None:
    # Given a refused post from 40 days ago, one released then, and one from yesterday
    refused_post(sessions, days_ago(40))
    refused_post(sessions, days_ago(40), released=True)
    recent = refused_post(sessions, days_ago(1))
    with sessions() as session:
        released_inbound = session.execute(select(InboundRecord.id)).scalar_one()
    # When the store is pruned
    pruned = prune(sessions, KEEP, NOW)
    # Then both old refusals are gone, the recent one stays, and the input the release
    # accepted stays with its ticket's source
    assert pruned.refused_posts == 2
    assert ids(sessions, FormRefusal.id) == {recent}
    assert ids(sessions, InboundRecord.id) == {released_inbound}


def test_an_idle_bucket_is_deleted_and_comes_back_full(sessions: sessionmaker[Session]) -> None:
    # Given a client who emptied its bucket two days ago, and one posting an hour ago
    idle, busy = Limit("form-ip:203.0.113.9", 3, 1), Limit("form-ip:198.51.100.7", 3, 1)
    with unit_of_work(sessions) as session:
        for _ in range(3):
            assert take_each(session.connection(), [[idle]], days_ago(2))[0] is None
        assert take_each(session.connection(), [[busy]], NOW - timedelta(hours=1))[0] is None
    # When the store is pruned
    pruned = prune(sessions, KEEP, NOW)
    # Then the idle bucket is gone, and a new post finds it full as it would have been
    assert pruned.idle_buckets == 1
    assert ids(sessions, RateBucket.key) == {busy.key}
    with unit_of_work(sessions) as session:
        assert take_each(session.connection(), [[idle]], NOW)[0] is None
        tokens = session.execute(select(RateBucket.tokens).where(RateBucket.key == idle.key))
        assert tokens.scalar_one() == pytest.approx(2)


def test_a_prune_asked_to_stop_ends_after_the_chunk_in_hand(
    sessions: sessionmaker[Session],
) -> None:
    # Given five pieces of old done work
    for _ in range(5):
        work(sessions, days_ago(40), days_ago(40))
    # When a prune in chunks of two is told, after its first chunk, that it must stop
    pruned = prune(sessions, KEEP, NOW, chunk=2, stopping=lambda: True)
    # Then it deleted that chunk only, and the next pass takes the rest
    assert pruned.done_work == 2
    assert prune(sessions, KEEP, NOW, chunk=2).done_work == 3


def test_a_dry_run_counts_and_deletes_nothing_and_none_keeps_for_ever(
    sessions: sessionmaker[Session],
) -> None:
    # Given old done work and an old refused post
    work(sessions, days_ago(400), days_ago(400))
    refused_post(sessions, days_ago(400))
    # When a dry run counts, and a prune keeping both for ever runs
    counted = prune(sessions, KEEP, NOW, dry_run=True)
    forever = Retention(done_work=None, refused_posts=None, idle_buckets=timedelta(days=1))
    kept = prune(sessions, forever, NOW)
    # Then the dry run counts them, and neither deleted anything
    assert counted == Pruned(done_work=1, refused_posts=1, idle_buckets=0)
    assert kept.total == 0
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(OutboxEntry)).scalar_one() == 1
        assert session.execute(select(func.count()).select_from(FormRefusal)).scalar_one() == 1


def test_retention_follows_the_settings_and_the_slowest_bucket(settings: Settings) -> None:
    # Given done work kept 7 days, refused posts for ever, and an email bucket that takes
    # 50 hours to fill up from empty
    custom = settings.model_copy(update={"keep_done_work_days": 7, "keep_refused_posts_days": 0})
    forms = FormSettings(email_burst=100, email_per_hour=2)
    # When the housekeeping reads them
    retention = retention_for(custom, forms)
    # Then it keeps each as said, and buckets until the slowest is surely full
    assert retention == Retention(
        done_work=timedelta(days=7), refused_posts=None, idle_buckets=timedelta(hours=50)
    )
    assert retention_for(settings, FormSettings()).idle_buckets == timedelta(days=1)


def test_the_housekeeper_prunes_on_its_own_after_its_first_wait(
    sessions: sessionmaker[Session],
) -> None:
    # Given done work older than kept, and a housekeeper whose first pass comes at once
    work(sessions, datetime.now(UTC) - timedelta(days=40), datetime.now(UTC) - timedelta(days=40))
    keeper = Housekeeper(sessions, KEEP, first=0.01, every=3600)
    # When it runs in the background
    keeper.start()
    try:
        for _ in range(500):
            if not ids(sessions, OutboxEntry.id):
                break
            time.sleep(0.01)
    finally:
        keeper.stop()
    # Then the work is gone
    assert ids(sessions, OutboxEntry.id) == set()


def test_db_prune_says_what_it_deleted_or_would(
    sessions: sessionmaker[Session], settings: Settings, database_url: str
) -> None:
    # Given old done work
    old = datetime.now(UTC) - timedelta(days=60)
    work(sessions, old, old)
    env = {
        "OMNIROUTE_DATABASE_URL": database_url,
        "OMNIROUTE_DATA_DIR": str(Path(settings.data_dir)),
    }
    # When `omniroute db prune --dry-run`, then `omniroute db prune`, run
    dry = CliRunner().invoke(main, ["db", "prune", "--dry-run"], env=env)
    done = CliRunner().invoke(main, ["db", "prune"], env=env)
    # Then each says what it found, and only the second deleted it
    assert dry.exit_code == 0, dry.output
    assert "would delete 1 done work rows, 0 refused posts, 0 idle rate buckets" in dry.output
    assert done.exit_code == 0, done.output
    assert "deleted 1 done work rows, 0 refused posts, 0 idle rate buckets" in done.output
    assert ids(sessions, OutboxEntry.id) == set()
