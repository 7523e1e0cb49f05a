"""Core statements sent straight to the driver write and read exactly what SQLAlchemy
would, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from ingest.db import insert_for_dialect, is_store_outage
from ingest.direct_sql import rows_each, rows_of, run_many
from ingest.models import UTCDateTime

metadata = MetaData()
made: list[int] = []


def _next_serial() -> int:
    made.append(len(made) + 1)
    return made[-1]


notes = Table(
    "direct_sql_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(40), unique=True, nullable=False),
    Column("body", JSON, default=dict),
    Column("state", String(20), default="new"),
    Column("serial", Integer, default=_next_serial),
    Column("at", UTCDateTime()),
    Column("score", Float),
    Column("amount", Numeric(10, 2)),
)
AT = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


@pytest.fixture
def table(engine: Engine) -> Iterator[Table]:
    metadata.drop_all(engine)
    metadata.create_all(engine)
    try:
        yield notes
    finally:
        metadata.drop_all(engine)


def read_all(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(notes).order_by(notes.c.key))]


def test_an_insert_returns_its_row_and_writes_what_sqlalchemy_writes(
    engine: Engine, table: Table
) -> None:
    returning = insert(table).returning(table.c.id, table.c.at, table.c.body)
    with engine.begin() as conn:
        # When one row goes the direct way and one through SQLAlchemy, with the same values
        ((row_id, at, body),) = rows_of(
            conn, returning, {"key": "direct", "body": {"é": [1, "ü"]}, "at": AT}
        )
        conn.execute(insert(table), {"key": "sqlalchemy", "body": {"é": [1, "ü"]}, "at": AT})
    # Then the returned columns came through their types' result processors
    assert isinstance(row_id, int)
    assert (at, body) == (AT, {"é": [1, "ü"]})
    # And both rows read back the same, defaults applied (the callable one per row)
    direct, through = read_all(engine)  # (id, key, body, state, serial, at), by key
    assert direct[2:4] == through[2:4] == ({"é": [1, "ü"]}, "new")
    assert direct[5] == through[5] == AT
    assert direct[4] != through[4]  # the callable default made a serial for each row


def test_many_rows_in_one_statement_and_an_update_by_bound_name(
    engine: Engine, table: Table
) -> None:
    with engine.begin() as conn:
        run_many(conn, insert(table), [{"key": f"k{n}", "at": AT} for n in range(3)])
        set_state = (
            update(table).where(table.c.key == bindparam("which")).values(state=bindparam("to"))
        )
        run_many(conn, set_state, [{"which": "k0", "to": "done"}, {"which": "k2", "to": "held"}])
        assert rows_of(conn, set_state, {"which": "k1", "to": "open"}) == []
    assert [(row[1], row[3], row[5]) for row in read_all(engine)] == [
        ("k0", "done", AT),
        ("k1", "open", AT),
        ("k2", "held", AT),
    ]


def test_an_insert_skipping_conflicts_returns_only_the_rows_it_wrote(
    engine: Engine, table: Table
) -> None:
    skip = (
        insert_for_dialect(engine.dialect.name, table)
        .on_conflict_do_nothing()
        .returning(table.c.key)
    )
    with engine.begin() as conn:
        conn.execute(insert(table), {"key": "taken"})
        written = rows_each(conn, skip, [{"key": "taken"}, {"key": "free"}, {"key": "new"}])
    assert sorted(key for (key,) in written) == ["free", "new"]


def test_a_driver_error_is_sqlalchemys_and_names_the_statement(
    engine: Engine, table: Table
) -> None:
    with engine.connect() as conn, conn.begin():
        rows_of(conn, insert(table), {"key": "once"})
        with pytest.raises(IntegrityError) as raised:
            rows_of(conn, insert(table), {"key": "once"})
    assert "direct_sql_notes" in str(raised.value.statement)
    assert raised.value.orig is not None


def test_listeners_see_every_statement(engine: Engine, table: Table) -> None:
    seen: list[tuple[str, bool]] = []

    def before(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _ctx: Any, many: bool
    ) -> None:
        seen.append((statement.split(maxsplit=1)[0].upper(), many))

    with engine.begin() as conn:
        event.listen(engine, "before_cursor_execute", before)
        try:
            rows_of(conn, insert(table), {"key": "a"})
            run_many(conn, insert(table), [{"key": "b"}, {"key": "c"}])
        finally:
            event.remove(engine, "before_cursor_execute", before)
    assert [verb for verb, _ in seen] == ["INSERT", "INSERT"]
    assert seen[1][1]  # the two rows in one executemany


def test_statements_reach_the_driver_without_sqlalchemys_execution(
    engine: Engine, table: Table
) -> None:
    executed: list[object] = []

    def before(_conn: Any, statement: object, *_: Any) -> None:
        executed.append(statement)

    by_key = select(table.c.key, table.c.state).where(table.c.key == bindparam("k"))
    with engine.begin() as conn:
        event.listen(engine, "before_execute", before)
        try:
            # An INSERT that asks for no rows gets none, though PostgreSQL's is compiled
            # with the new key's RETURNING
            assert rows_of(conn, insert(table), {"key": "a"}) == []
            run_many(conn, insert(table), [{"key": "b"}, {"key": "c"}])
            assert rows_of(conn, by_key, {"k": "b"}) == [("b", "new")]
        finally:
            event.remove(engine, "before_execute", before)
    # SQLAlchemy's own execution (which fires ``before_execute``) was never entered
    assert executed == []
    assert [row[1] for row in read_all(engine)] == ["a", "b", "c"]


def test_statements_it_cannot_send_as_compiled_go_through_sqlalchemy(
    engine: Engine, table: Table
) -> None:
    with engine.begin() as conn:
        run_many(
            conn, insert(table), [{"key": "x", "at": AT}, {"key": "y", "at": AT + timedelta(1)}]
        )
        # An expanding IN list is rendered per execution
        found = rows_of(
            conn,
            select(table.c.key).where(table.c.key.in_(bindparam("keys", expanding=True))),
            {"keys": ["x", "y"]},
        )
        # Rows whose parameters differ in their names are each executed as given
        run_many(conn, insert(table), [{"key": "z"}, {"key": "w", "state": "odd"}])
    assert sorted(found) == [("x",), ("y",)]
    assert {row[1]: row[3] for row in read_all(engine)} == {
        "w": "odd",
        "x": "new",
        "y": "new",
        "z": "new",
    }


def test_a_query_returns_its_rows_through_their_types(engine: Engine, table: Table) -> None:
    by_key = select(table.c.key, table.c.body, table.c.at).where(table.c.key == bindparam("k"))
    with engine.begin() as conn:
        rows_of(conn, insert(table), {"key": "q", "body": {"n": 1}, "at": AT})
        assert rows_of(conn, by_key, {"k": "q"}) == [("q", {"n": 1}, AT)]
        assert rows_of(conn, by_key, {"k": "nobody"}) == []


def test_a_connection_lost_mid_statement_is_an_outage_and_is_not_reused(
    engine: Engine, table: Table
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a server connection to lose")
    with engine.connect() as conn:
        with conn.begin():
            rows_of(conn, insert(table), {"key": "before"})
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        conn.rollback()
        with engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        with pytest.raises(DBAPIError) as raised, conn.begin():
            rows_of(conn, insert(table), {"key": "after"})
    assert raised.value.connection_invalidated
    assert is_store_outage(raised.value)
    assert [row[1] for row in read_all(engine)] == ["before"]


def test_numbers_come_back_as_their_columns_declare(engine: Engine, table: Table) -> None:
    by_key = select(table.c.score, table.c.amount).where(table.c.key == bindparam("k"))
    with engine.begin() as conn:
        rows_of(conn, insert(table), {"key": "n", "score": 2.5, "amount": Decimal("12.30")})
        [(score, amount)] = rows_of(conn, by_key, {"k": "n"})
        # A second read takes the processors the first one settled
        assert rows_of(conn, by_key, {"k": "n"}) == [(score, amount)]
        through = conn.execute(by_key, {"k": "n"}).one()
    assert (score, amount) == tuple(through) == (2.5, Decimal("12.30"))
    assert (type(score), type(amount)) == (float, Decimal)


def test_one_statement_is_sent_to_each_store_as_compiled_for_it(
    engine: Engine, table: Table
) -> None:
    # Given an embedded store beside the suite's (PostgreSQL when the suite runs on it)
    embedded = create_engine("sqlite://")
    metadata.create_all(embedded)
    by_key = select(table.c.key).where(table.c.key == bindparam("k"))
    try:
        # When the same statement objects run on both, one after the other
        for n, store in enumerate((embedded, engine, embedded)):
            key = f"{n}-on-{store.dialect.name}"
            with store.begin() as conn:
                rows_of(conn, insert(table), {"key": key})
                found = rows_of(conn, by_key, {"k": key})
            # Then each store got the statement in its own dialect
            assert found == [(key,)]
    finally:
        embedded.dispose()


def test_a_missing_table_is_a_bug_not_an_outage(engine: Engine) -> None:
    gone = Table("direct_sql_gone", MetaData(), Column("id", Integer, primary_key=True))
    with engine.connect() as conn, conn.begin(), pytest.raises(DBAPIError) as raised:
        rows_of(conn, insert(gone), {"id": 1})
    assert not is_store_outage(raised.value)
