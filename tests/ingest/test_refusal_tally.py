"""Refusals counted in memory and written in aggregate: one transaction per flush, and a
store that is down keeps the counts for the next flush instead of failing anyone."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from ingest.db import create_store_engine, session_factory
from ingest.ops_queries import refusals_by_reason
from ingest.refusals import RefusalTally


def stored(sessions: sessionmaker[Session]) -> list[tuple[str, str, int]]:
    with sessions() as session:
        return refusals_by_reason(session)


def test_a_flood_of_refusals_is_one_small_write(sessions: sessionmaker[Session]) -> None:
    # Given a thousand refusals counted by one process
    tally = RefusalTally()
    for _ in range(998):
        tally.add("twilio", "bad-signature")
    tally.add("email", "unknown recipient")
    tally.add("email", "unknown recipient")
    statements: list[str] = []
    engine = sessions.kw["bind"]

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        # When it flushes
        written = tally.flush(sessions)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    # Then every refusal is in the store, written with a couple of statements per reason
    assert written == 1000
    assert stored(sessions) == [("email", "unknown recipient", 2), ("twilio", "bad-signature", 998)]
    assert len([s for s in statements if "refusal_counts" in s]) == 4
    assert tally.pending() == {}
    # And the next flush adds to the totals
    tally.add("email", "unknown recipient")
    assert tally.flush(sessions) == 1
    assert ("email", "unknown recipient", 3) in stored(sessions)


def test_a_store_that_is_down_keeps_the_counts_for_the_next_flush(
    sessions: sessionmaker[Session],
) -> None:
    # Given refusals counted while the store is down
    tally = RefusalTally()
    tally.add("slack", "stale timestamp")
    down = create_store_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    try:
        # When a flush cannot reach it
        written = tally.flush(session_factory(down))
    finally:
        down.dispose()
    # Then nothing is raised and the counts wait, with any counted meanwhile
    assert written == 0
    tally.add("slack", "stale timestamp")
    assert tally.pending() == {("slack", "stale timestamp"): 2}
    # And once the store is back they are written
    assert tally.flush(sessions) == 2
    assert stored(sessions) == [("slack", "stale timestamp", 2)]
