"""Whether the store's schema is the one this code needs, told before a role starts.

A release that adds a migration, deployed before ``omniroute db upgrade`` ran, would
otherwise start and then fail on every statement that names a new column, each failure
recorded as a bug. Each role checks the store's Alembic revision at start instead and
refuses, in one line, to run on a store its code is newer than. A store migrated by a
newer release is only warned about, so a release can be rolled back.

The revision this code needs is read from the migration files' names (``0014_…``), not
through Alembic: the roles never load Alembic (see ``workers.process.run``).
``tests/ingest/test_schema_check.py`` checks the two agree.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from config.errors import ConfigError

log = logging.getLogger(__name__)

VERSIONS = Path(__file__).with_name("migrations") / "versions"
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")
UPGRADE = "run `omniroute db upgrade`"
# "no such table" / "no such column" (SQLite), undefined table / column (PostgreSQL).
_MISSING_SQLITE = ("no such table", "no such column", "has no column named")
_MISSING_SQLSTATES = frozenset({"42P01", "42703"})


class SchemaBehind(ConfigError):
    """The store lacks tables or migrations this code needs; says what to run."""


def head_revision() -> str:
    """The newest migration shipped with this code."""
    found = [m.group(1) for p in VERSIONS.iterdir() if (m := _REVISION_FILE.match(p.name))]
    return max(found)


def store_revision(engine: Engine) -> str | None:
    """The store's Alembic revision; None when it has no omniroute tables (or, on
    SQLite, no file yet: none is made by asking)."""
    path = engine.url.database or ""
    on_disk = engine.dialect.name == "sqlite" and not path.startswith(("file:", ":memory:"))
    if on_disk and path and not Path(path).exists():
        return None
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def check_schema(engine: Engine) -> str | None:
    """Raise ``SchemaBehind`` when the store is older than this code; return a warning
    when it is newer, else None."""
    head, current = head_revision(), store_revision(engine)
    if current is None:
        raise SchemaBehind(f"the store has no omniroute tables: {UPGRADE}")
    if current < head:
        raise SchemaBehind(
            f"the store's schema is at revision {current}, this omniroute needs {head}: {UPGRADE}"
        )
    if current > head:
        return (
            f"the store's schema is at revision {current}, newer than this omniroute's "
            f"{head}: it was migrated by a newer release"
        )
    return None


def check_store_schema(database_url: str) -> None:
    """A role's check at start: ``SchemaBehind`` on a store older than this code, a warning
    logged on a newer one. A store that cannot be reached now is left to the role, which
    copes with outages as they come."""
    from ingest.db import create_store_engine, is_store_outage

    engine = create_store_engine(database_url, statement_timeout_ms=10_000)
    try:
        warning = check_schema(engine)
    except DBAPIError as exc:
        if not is_store_outage(exc):
            raise
        log.warning("the store's schema could not be checked: %s", str(exc).splitlines()[0])
        return
    finally:
        engine.dispose()
    if warning is not None:
        log.warning(warning)


def is_schema_missing(exc: BaseException) -> bool:
    """True when a statement failed because a table or column this code needs is missing."""
    if not isinstance(exc, OperationalError | ProgrammingError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate in _MISSING_SQLSTATES
    message = str(exc.orig).lower()
    return any(missing in message for missing in _MISSING_SQLITE)
