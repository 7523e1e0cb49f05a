"""Token buckets in the store, so every web process shares one count per key.

A bucket holds up to ``burst`` tokens and refills at ``per_hour``; a post takes one
token from each of its buckets (client IP, submitted email, form) or, when any is
empty, takes none and learns how long to wait. The rows are locked in key order,
so two processes never deadlock over the same buckets. Two Core statements on the
caller's connection, built once: this runs on every form post, before the accept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, update

from ingest.db import insert_for_dialect
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


def take(conn: Connection, limits: list[Limit], now: datetime) -> Refusal | None:
    """Take one token from every bucket, or none if any is empty (then say which)."""
    unique: dict[str, Limit] = {}
    for limit in limits:
        unique.setdefault(limit.key, limit)  # one row may not be updated twice in a statement
    ordered = sorted(unique.values(), key=lambda limit: limit.key)
    # One statement makes the missing buckets (full) and reads and locks every one.
    rows = {
        key: (tokens, updated_at)
        for key, tokens, updated_at in conn.execute(
            _touch(conn.dialect.name),
            [{"key": limit.key, "tokens": limit.burst, "updated_at": now} for limit in ordered],
        )
    }
    levels: dict[str, float] = {}
    refusal: Refusal | None = None
    for limit in ordered:
        tokens, updated_at = rows[limit.key]
        elapsed = max(0.0, (now - updated_at).total_seconds())
        level = min(limit.burst, tokens + elapsed * limit.per_hour / 3600)
        levels[limit.key] = level
        if level < 1 and refusal is None:
            wait = (1 - level) * 3600 / limit.per_hour
            refusal = Refusal(limit.key, max(1, math.ceil(wait)))
    spent = 0 if refusal is not None else 1
    conn.execute(
        _SET_LEVEL,
        [{"bucket": key, "level": level - spent, "at": now} for key, level in levels.items()],
    )
    return refusal


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
