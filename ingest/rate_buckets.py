"""Token buckets in the store, so every web process shares one count per key.

A bucket holds up to ``burst`` tokens and refills at ``per_hour``; a post takes one
token from each of its buckets (client IP, submitted email, form) or, when any is
empty, takes none and learns how long to wait. The rows are locked in key order,
so two processes never deadlock over the same buckets. Two Core statements on the
caller's connection, built once, for a post or for the posts stored together (on SQLite
the first runs once per bucket, on the driver: cheaper there than one of many rows):
this runs on every form post, before the accept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, update

from ingest.db import insert_for_dialect
from ingest.direct_sql import rows_each, run_many
from ingest.models import RateBucket


@dataclass(frozen=True, slots=True)
class Limit:
    """One bucket: its key (``form-ip:203.0.113.9``), size and refill rate."""

    key: str
    burst: float
    per_hour: float


@dataclass(frozen=True, slots=True)
class Refusal:
    """The bucket that was empty and the whole seconds until it has a token again."""

    key: str
    retry_after: int


_SET_LEVEL = (
    update(RateBucket)
    .where(RateBucket.key == bindparam("bucket"))
    .values(tokens=bindparam("level"), updated_at=bindparam("at"))
)


def take_each(
    conn: Connection, requests: Sequence[list[Limit]], now: datetime
) -> list[Refusal | None]:
    """For each request in turn, one token from every bucket it names, or none if any is
    empty (then which): as if one after the other, in two statements.

    Posts stored together share their buckets' rows: each takes its tokens from what
    the ones before it left, so a batch is limited exactly as its posts one by one."""
    unique: dict[str, Limit] = {}
    for limits in requests:
        for limit in limits:
            unique.setdefault(limit.key, limit)  # one row may not be updated twice in a statement
    if not unique:
        return [None] * len(requests)
    ordered = sorted(unique.values(), key=lambda limit: limit.key)
    # The first statement makes the missing buckets (full) and reads and locks every one.
    rows = {
        key: (tokens, updated_at)
        for key, tokens, updated_at in rows_each(
            conn,
            _touch(conn.dialect.name),
            [{"key": limit.key, "tokens": limit.burst, "updated_at": now} for limit in ordered],
        )
    }
    levels: dict[str, float] = {}
    for limit in ordered:
        tokens, updated_at = rows[limit.key]
        elapsed = max(0.0, (now - updated_at).total_seconds())
        levels[limit.key] = min(limit.burst, tokens + elapsed * limit.per_hour / 3600)
    outcomes = [_take_from(levels, unique, limits) for limits in requests]
    run_many(
        conn,
        _SET_LEVEL,
        [{"bucket": key, "level": level, "at": now} for key, level in levels.items()],
    )
    return outcomes


def _take_from(
    levels: dict[str, float], unique: dict[str, Limit], limits: list[Limit]
) -> Refusal | None:
    keys = sorted({limit.key for limit in limits})
    for key in keys:
        if levels[key] < 1:
            wait = (1 - levels[key]) * 3600 / unique[key].per_hour
            return Refusal(key, max(1, math.ceil(wait)))
    for key in keys:
        levels[key] -= 1
    return None


@cache
def _touch(dialect: str) -> Any:
    """Insert each bucket unless it exists, returning its row either way, locked.

    ``ON CONFLICT DO UPDATE`` (a no-op update) rather than ``DO NOTHING``: it returns
    the existing row and, on PostgreSQL, locks it as ``SELECT ... FOR UPDATE`` would.
    """
    statement = insert_for_dialect(dialect, RateBucket)
    return statement.on_conflict_do_update(
        index_elements=[RateBucket.key], set_={"tokens": RateBucket.tokens}
    ).returning(RateBucket.key, RateBucket.tokens, RateBucket.updated_at)
