"""Each SQLite connection of the store is set up alike: WAL, and a small page cache."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from ingest.db import SQLITE_CACHE_KIB, create_store_engine


def test_a_store_connection_keeps_a_small_page_cache_in_wal(tmp_path: Path) -> None:
    # Given the store's engine on a SQLite file
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        # When a connection is asked for its settings
        with engine.connect() as conn:
            mode = conn.execute(text("PRAGMA journal_mode")).scalar()
            cache = conn.execute(text("PRAGMA cache_size")).scalar()
    finally:
        engine.dispose()
    # Then it writes ahead to a log, and caches at most SQLITE_CACHE_KIB of pages
    # (a negative cache_size is a size in KiB, not a page count)
    assert (mode, cache, SQLITE_CACHE_KIB) == ("wal", -512, 512)
