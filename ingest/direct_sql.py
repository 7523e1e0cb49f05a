"""Core statements of the hot paths sent straight to the store's driver.

A small ``INSERT`` or ``UPDATE`` costs SQLite a few microseconds and PostgreSQL a
loopback round trip, and SQLAlchemy's execution around it (an execution context,
parameter processing, a result object) as much or several times more. The accept, the
inline ingest and the rate limits send several such statements per message, so they
run as SQLAlchemy would send them, without the wrapping: the statement compiled by
SQLAlchemy, once for the parameter names given; each value through its column type's
bind processor, and each returned column through its result processor; column
defaults applied as an ``INSERT`` applies them; driver errors raised as SQLAlchemy's
``DBAPIError`` (a dropped connection invalidated, as SQLAlchemy does); and the
connection's cursor events fired, so listeners (statement logs, tracing) see every
statement.

The drivers are the two the store supports, ``sqlite3`` and psycopg 3. A statement
this path cannot send as compiled (expanding ``IN`` lists, SQL-side defaults), or a
connection outside a transaction or on another driver, goes through SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Column, Connection, Dialect, Executable, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

Row = tuple[Any, ...]
Params = Mapping[str, Any]

_PARAM = 0  # the value comes from the execution's parameters
_FIXED = 1  # a value in the statement itself, or a column's constant default
_MADE = 2  # a column's Python default, called for each row


@dataclass(frozen=True, slots=True)
class _Plan:
    """A statement compiled for one set of parameter names, ready for the driver."""

    sql: str
    # Per parameter, in the statement's order: its name, where its value comes from
    # (and the value or the function making it), its type's bind processor, and the
    # name the statement gives it (``%(name)s`` on PostgreSQL).
    binds: tuple[tuple[str, int, Any, Callable[[Any], Any] | None, str], ...]
    # ``?`` placeholders take a tuple (SQLite); named ones a mapping (psycopg).
    positional: bool
    returns_rows: bool
    # The type of each returned column, and its result processor once the driver has
    # named the column's type: psycopg's numbers are converted by what the server sent.
    result_types: tuple[TypeEngine[Any], ...]
    results: list[tuple[Callable[[Any], Any] | None, ...]] = field(default_factory=list)

    def args(self, params: Params) -> tuple[Any, ...] | dict[str, Any]:
        values = []
        for name, source, given, process, _ in self.binds:
            if source == _PARAM:
                value = params[name]
            elif source == _FIXED:
                value = given
            else:
                value = given(None)  # SQLAlchemy wraps a callable default to take a context
            values.append(value if process is None else process(value))
        if self.positional:
            return tuple(values)
        return {bind[4]: value for bind, value in zip(self.binds, values, strict=True)}

    def rows(self, dialect: Dialect, cursor: Any) -> list[Row]:
        fetched = cursor.fetchall()
        if not fetched:
            return []
        if not self.results:
            codes = [column[1] for column in cursor.description]
            self.results.append(
                tuple(
                    kind.result_processor(dialect, code)
                    for kind, code in zip(self.result_types, codes, strict=True)
                )
            )
        processes = self.results[0]
        if not any(processes):
            return [tuple(raw) for raw in fetched]
        return [
            tuple(
                value if process is None else process(value)
                for value, process in zip(raw, processes, strict=True)
            )
            for raw in fetched
        ]


# By statement, parameter names, executemany and the engine's dialect: a process may
# hold engines of both stores (a backup, a test), and a plan is compiled for one.
_PLANS: dict[tuple[Executable, tuple[str, ...], bool, Dialect], _Plan | None] = {}
# The drivers whose cursors take what SQLAlchemy compiles for them as it is.
_DRIVERS = frozenset({("sqlite", "pysqlite"), ("postgresql", "psycopg")})
_MAX_PLANS = 512  # the hot paths use a few dozen; a caller building statements anew is capped


def rows_of(conn: Connection, statement: Executable, params: Params) -> list[Row]:
    """Execute ``statement`` once with ``params``; the rows it returns (none without
    ``RETURNING``)."""
    plan = _plan_for(conn, statement, params, many=False)
    if plan is None:
        result = conn.execute(statement, dict(params))
        return [tuple(row) for row in result] if result.returns_rows else []
    return _execute(conn, plan, params)


def rows_each(conn: Connection, statement: Executable, each: Sequence[Params]) -> list[Row]:
    """Execute ``statement`` for each of ``each``; every row returned, in no set order."""
    if not each:
        return []
    if not _alike(each):
        return [row for params in each for row in rows_of(conn, statement, params)]
    plan = _plan_for(conn, statement, each[0], many=False)
    if plan is None:
        result = conn.execute(statement, [dict(p) for p in each])
        return [tuple(row) for row in result] if result.returns_rows else []
    return [row for params in each for row in _execute(conn, plan, params)]


def run_many(conn: Connection, statement: Executable, each: Sequence[Params]) -> None:
    """Execute ``statement`` (no ``RETURNING``) for each of ``each``, as one ``executemany``
    when every one names the same parameters."""
    if not each:
        return
    if not _alike(each):
        for params in each:
            rows_of(conn, statement, params)
        return
    plan = _plan_for(conn, statement, each[0], many=True)
    if plan is None or plan.returns_rows:
        conn.execute(statement, [dict(p) for p in each])
        return
    _execute_many(conn, plan, [plan.args(params) for params in each])


def _alike(each: Sequence[Params]) -> bool:
    """Whether every execution names the same parameters (an ``executemany`` compiles the
    statement once, for the first one's)."""
    first = each[0].keys()
    return all(params.keys() == first for params in each)


def _execute(conn: Connection, plan: _Plan, params: Params) -> list[Row]:
    args = plan.args(params)
    with _DriverErrors(conn, plan.sql, args) as cursor:
        _before(conn, cursor, plan.sql, args, False)
        cursor.execute(plan.sql, args)
        rows = plan.rows(conn.dialect, cursor) if plan.returns_rows else []
        _after(conn, cursor, plan.sql, args, False)
    return rows


def _execute_many(conn: Connection, plan: _Plan, args: list[Any]) -> None:
    with _DriverErrors(conn, plan.sql, args) as cursor:
        _before(conn, cursor, plan.sql, args, True)
        cursor.executemany(plan.sql, args)
        _after(conn, cursor, plan.sql, args, True)


def _before(conn: Connection, cursor: Any, sql: str, args: Any, many: bool) -> None:
    if conn.dispatch.before_cursor_execute:
        for listener in conn.dispatch.before_cursor_execute:
            listener(conn, cursor, sql, args, None, many)


def _after(conn: Connection, cursor: Any, sql: str, args: Any, many: bool) -> None:
    if conn.dispatch.after_cursor_execute:
        for listener in conn.dispatch.after_cursor_execute:
            listener(conn, cursor, sql, args, None, many)


class _DriverErrors:
    """A cursor of ``conn``'s driver connection; the driver's errors leave it as
    SQLAlchemy's, and a connection found dropped is invalidated."""

    __slots__ = ("args", "conn", "cursor", "sql")

    def __init__(self, conn: Connection, sql: str, args: Any) -> None:
        self.conn, self.sql, self.args = conn, sql, args
        self.cursor: Any = None

    def __enter__(self) -> Any:
        self.cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        return self.cursor

    def __exit__(self, kind: Any, exc: BaseException | None, _tb: Any) -> Literal[False]:
        cursor, self.cursor = self.cursor, None
        if cursor is not None:
            cursor.close()
        dialect = self.conn.dialect
        driver_error = dialect.loaded_dbapi.Error
        if exc is None or not isinstance(exc, driver_error):
            return False
        dropped = dialect.is_disconnect(exc, self.conn.connection.dbapi_connection, cursor)
        if dropped:
            self.conn.invalidate(exc)
        raise DBAPIError.instance(
            self.sql,
            self.args,
            exc,
            driver_error,
            connection_invalidated=dropped,
            dialect=dialect,
        ) from exc


def _plan_for(
    conn: Connection, statement: Executable, params: Params, *, many: bool
) -> _Plan | None:
    dialect = conn.dialect
    if (dialect.name, dialect.driver) not in _DRIVERS or not conn.in_transaction():
        return None
    key = (statement, tuple(sorted(params)), many, dialect)
    try:
        return _PLANS[key]
    except KeyError:
        pass
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    plan = _PLANS[key] = _compile(conn, statement, key[1], many)
    return plan


def _compile(
    conn: Connection, statement: Executable, keys: tuple[str, ...], many: bool
) -> _Plan | None:
    dialect = conn.dialect
    compiled = statement.compile(  # type: ignore[attr-defined]
        dialect=dialect, column_keys=list(keys), for_executemany=many
    )
    assert isinstance(compiled, SQLCompiler)
    order = compiled.positiontup if dialect.positional else list(compiled.binds)
    if (
        order is None
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or getattr(compiled, "postfetch", None)  # set for INSERT and UPDATE only
    ):
        return None
    defaults: dict[str, tuple[int, Any]] = {}
    for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
        made = _default_of(column, update=column in compiled.update_prefetch)
        if made is None:
            return None
        defaults[column.key] = made
    binds = []
    for name in order:
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        placeholder = compiled.escaped_bind_names.get(name, name)
        if name in keys:
            binds.append((name, _PARAM, None, process, placeholder))
        elif name in defaults:
            source, given = defaults[name]
            binds.append((name, source, given, process, placeholder))
        elif bind.callable is None and not bind.required:
            binds.append((name, _FIXED, bind.value, process, placeholder))
        else:
            return None
    returned = _returned(statement, compiled)
    result_types = tuple(column.type.dialect_impl(dialect) for column in returned)
    return _Plan(compiled.string, tuple(binds), dialect.positional, bool(returned), result_types)


def _default_of(column: Column[Any], *, update: bool) -> tuple[int, Any] | None:
    default = column.onupdate if update else column.default
    if default is None:
        return None
    if default.is_scalar:
        return _FIXED, default.arg  # type: ignore[attr-defined]
    if default.is_callable:
        return _MADE, default.arg  # type: ignore[attr-defined]
    return None  # a SQL expression or a sequence: the database computes it


def _returned(statement: Executable, compiled: SQLCompiler) -> Sequence[Any]:
    """The columns of the rows a statement returns: a query's, or an ``INSERT`` or
    ``UPDATE``'s own ``RETURNING``. The key PostgreSQL returns for an ``INSERT`` that
    asked for none (SQLAlchemy's implicit ``RETURNING``) is not fetched, as SQLAlchemy
    returns no rows for it."""
    if isinstance(statement, Select):
        return list(statement.selected_columns)
    if compiled.implicit_returning:
        return ()
    return compiled.effective_returning or ()
