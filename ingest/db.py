"""Engines and sessions for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, Table, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from ingest.errors import StoreUnavailable
from ingest.write_gate import gate_for, is_edge_thread

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 512

# The row lock for rows other rows point at (tickets, messages, inbound records,
# identities, deliveries): FOR NO KEY UPDATE on PostgreSQL, so lockers of one row
# still take turns. Plain FOR UPDATE would also wait for the key-share lock every
# transaction inserting a row that references it holds (the foreign key check): a
# worker deciding a ticket would hold up the ingest of its next message, and two
# such waits in opposite order deadlock (two replies to one ticket did). SQLite
# writes one transaction at a time and takes no row locks.
TAKE_TURNS: dict[str, bool] = {"key_share": True}
READ_ONLY = "omniroute_read_only"


# SQLite reports every error of these kinds as OperationalError; only these
# messages mean "cannot take work now" (SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR,
# SQLITE_FULL, SQLITE_CANTOPEN). "no such table" and the like are bugs or setup errors.
_SQLITE_OUTAGES = (
    "database is locked",
    "database table is locked",
    "disk i/o error",
    "database or disk is full",
    "unable to open database file",
)
# PostgreSQL SQLSTATEs that mean "try again later": connection exceptions (class 08),
# insufficient resources (class 53), operator intervention (57P01 admin shutdown,
# 57P02 crash shutdown, 57P03 cannot connect now, 57014 statement timeout), lock not
# available (55P03, lock_timeout), and the transaction rollbacks a retry resolves
# (40001 serialization failure, 40P01 deadlock).
_PG_OUTAGE_CLASSES = ("08", "53")
_PG_OUTAGE_STATES = frozenset({"57P01", "57P02", "57P03", "57014", "55P03", "40001", "40P01"})


def create_store_engine(url: str, *, statement_timeout_ms: int | None = None) -> Engine:
    """An engine tuned for this store: WAL and immediate transactions on SQLite.

    ``statement_timeout_ms`` bounds how long a caller waits on a lock or a slow
    server, so an edge can answer "try again later" instead of hanging.
    """
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url, statement_timeout_ms or SQLITE_BUSY_TIMEOUT_MS)
    else:
        connect_args: dict[str, Any] = {"connect_timeout": 5}
        if statement_timeout_ms:
            connect_args["options"] = f"-c statement_timeout={statement_timeout_ms}"
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    _savepoints_as_text(engine.dialect)
    return engine


_SAVEPOINT_NAME = re.compile(r"sa_savepoint_[0-9]+\Z")


def _savepoints_as_text(dialect: Dialect) -> None:
    """Send SAVEPOINT statements as plain text.

    SQLAlchemy compiles each one anew (its savepoints are numbered, so the statement
    is never the same twice and never cached), which costs more than running it; the
    ingest path takes a few per message. Names not of SQLAlchemy's making go the
    usual way, quoted by the dialect."""

    def as_text(sql: str, compiled: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
        def run(connection: Any, name: str) -> None:
            if _SAVEPOINT_NAME.match(name):
                connection.exec_driver_sql(sql + name)
            else:
                compiled(connection, name)

        return run

    dialect.do_savepoint = as_text("SAVEPOINT ", dialect.do_savepoint)  # type: ignore[method-assign,assignment]
    dialect.do_release_savepoint = as_text(  # type: ignore[method-assign,assignment]
        "RELEASE SAVEPOINT ", dialect.do_release_savepoint
    )
    dialect.do_rollback_to_savepoint = as_text(  # type: ignore[method-assign,assignment]
        "ROLLBACK TO SAVEPOINT ", dialect.do_rollback_to_savepoint
    )


def _sqlite_engine(url: str, busy_timeout_ms: int) -> Engine:
    path = make_url(url).database or ""
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy drive transactions so we can BEGIN IMMEDIATE: a deferred
        # transaction that later needs the write lock fails instead of waiting.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # In WAL a connection drops its page cache whenever another one has written, so
        # with the workers and the edge all writing it serves little beyond the pages
        # of one transaction; 512 KiB instead of the default 2 MiB per connection.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    gate, edge_flag = gate_for(path)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front (no deadlock upgrading a read lock);
        # readers (``read_only``) take none and never wait behind a writer in WAL.
        if connection.get_execution_options().get(READ_ONLY, False):
            connection.exec_driver_sql("BEGIN DEFERRED")
            return
        owner = _raw(connection.connection)
        # A second connection of the thread that holds the gate skips it: it waits
        # in SQLite's busy handler and times out, as it always did.
        gated = not gate.held_by_this_thread() and gate.acquire(
            owner, edge=is_edge_thread(), timeout=busy_timeout_ms / 1000
        )
        try:
            if edge_flag is None:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            elif is_edge_thread():
                with edge_flag.announced():
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                edge_flag.defer_to_edges()
                connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if gated:
                gate.release(owner)
            raise

    def _ending(end: Callable[[Any], None]) -> Callable[[Any], None]:
        def ended(dbapi_connection: Any) -> None:
            try:
                end(dbapi_connection)
            finally:
                gate.release(_raw(dbapi_connection))

        return ended

    # The transaction's end hands the gate on: COMMIT, ROLLBACK (also the pool's
    # reset on return), and a connection dropped or closed in the middle of one.
    dialect = engine.dialect
    dialect.do_commit = _ending(dialect.do_commit)  # type: ignore[method-assign,assignment]
    dialect.do_rollback = _ending(dialect.do_rollback)  # type: ignore[method-assign,assignment]
    for dropped in ("checkin", "invalidate", "close"):
        event.listen(engine, dropped, lambda dbapi_connection, *_: gate.release(dbapi_connection))
    return engine


def _raw(connection: Any) -> Any:
    """The DBAPI connection behind the pool's proxy (the gate's owner)."""
    return getattr(connection, "dbapi_connection", connection)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    sessions = sessionmaker(engine, expire_on_commit=False)
    event.listen(sessions, "after_soft_rollback", _expire_after_savepoint_rollback)
    return sessions


def _expire_after_savepoint_rollback(session: Session, ended: SessionTransaction) -> None:
    """After a savepoint rolls back, every object reads its row again when next used.

    Rows written with Core statements (``ingest.rows``) keep their values on their
    objects as if loaded, so the ORM, which expires after a savepoint only the objects
    it changed itself, would leave the undone values on them: a form post's record
    whose inline ingest was rolled back would still read as processed to its double
    click in the same batch. A savepoint rolls back only when its work fails or must
    wait (``Defer``), so the reads are paid on that path alone."""
    if ended.nested:
        session.expire_all()


def is_store_outage(exc: BaseException) -> bool:
    """True when the error means "the store cannot take work now" (connection lost,
    timeout, lock), not a bug or a broken setup such as a missing table."""
    if isinstance(exc, PoolTimeout):
        return True  # every pooled connection busy past the pool's timeout
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith(_PG_OUTAGE_CLASSES) or sqlstate in _PG_OUTAGE_STATES
    if not isinstance(exc, OperationalError):
        return False
    if exc.orig is not None and type(exc.orig).__module__.startswith("psycopg"):
        return True  # no SQLSTATE: the connection could not be made or was lost
    message = str(exc.orig).lower()
    return any(outage in message for outage in _SQLITE_OUTAGES)


def is_store_trouble(exc: BaseException) -> bool:
    """A store outage in either form: ``StoreUnavailable`` already, or the driver's error
    (a lost connection, a deadlock) that ``unit_of_work`` turns into one on its way out.

    Code that catches bugs inside a transaction (a savepoint around one step) re-raises
    these: the whole transaction is retried, never recorded as that step's bug."""
    return isinstance(exc, StoreUnavailable) or is_store_outage(exc)


@contextmanager
def connection_unit(sessions: sessionmaker[Session]) -> Iterator[Connection]:
    """One transaction on a bare connection, for Core-only hot paths (no ORM session);
    on the connection this thread keeps (:func:`kept_connection`), if it keeps one."""
    engine = sessions.kw["bind"]
    kept: _Kept | None = getattr(_kept, "by_engine", {}).get(engine)
    try:
        if kept is None:
            with engine.begin() as connection:
                yield connection
        else:
            connection = kept.connection()
            with connection.begin():
                yield connection
    except (DBAPIError, PoolTimeout) as exc:
        if kept is not None:
            kept.drop()  # the next unit connects afresh
        if is_store_outage(exc):
            raise StoreUnavailable(str(exc).splitlines()[0]) from exc
        raise


class _Kept:
    """A thread's own connection to one engine, made when first needed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None

    def connection(self) -> Connection:
        if self._connection is None or self._connection.closed:
            self._connection = self.engine.connect()
        return self._connection

    def drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


_kept = threading.local()


@contextmanager
def kept_connection(sessions: sessionmaker[Session]) -> Iterator[None]:
    """Within it, this thread's :func:`connection_unit` transactions on a SQLite store run
    on one connection the thread keeps, instead of one taken from the pool for each.

    For an edge's single writer thread: taking a connection from the pool and giving it
    back (with the pool's reset) cost it about a seventh of its time. A SQLite file's
    connection does not drop, and between transactions it holds nothing. On PostgreSQL
    every transaction still takes a pooled connection, pinged first."""
    engine: Engine = sessions.kw["bind"]
    by_engine: dict[Engine, _Kept] = getattr(_kept, "by_engine", {})
    if engine.dialect.name != "sqlite" or engine in by_engine:
        yield
        return
    _kept.by_engine = {**by_engine, engine: _Kept(engine)}
    try:
        yield
    finally:
        _kept.by_engine[engine].drop()
        _kept.by_engine = by_engine


@contextmanager
def read_only(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reading: on SQLite it takes no write lock, so views, the API and
    metrics never queue behind (or block) the workers' writes."""
    engine = sessions.kw["bind"].execution_options(**{READ_ONLY: True})
    try:
        with sessions(bind=engine) as session, session.begin():
            yield session
    except (DBAPIError, PoolTimeout) as exc:
        if is_store_outage(exc):
            raise StoreUnavailable(str(exc).splitlines()[0]) from exc
        raise


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction; store outages surface as ``StoreUnavailable``."""
    try:
        with sessions.begin() as session:
            yield session
    except (DBAPIError, PoolTimeout) as exc:
        if is_store_outage(exc):
            raise StoreUnavailable(str(exc).splitlines()[0]) from exc
        raise


def insert_ignoring_conflicts(session: Session | Connection, model: type[Any]) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` for this dialect (SQLite or PostgreSQL).

    Unique constraints decide races between workers; the loser sees no row returned.
    """
    bind = session if isinstance(session, Connection) else session.get_bind()
    return insert_for_dialect(bind.dialect.name, model).on_conflict_do_nothing()


def insert_for_dialect(dialect: str, model: type[Any] | Table) -> Any:
    """The dialect's own INSERT construct (of a mapped class or a table), which knows
    ``ON CONFLICT``."""
    # Imported here: the PostgreSQL dialect is a noticeable part of a CLI start-up.
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert(model) if dialect == "postgresql" else sqlite.insert(model)
