"""The SQLite write gate: writers queue in order, edges first, and the gate is always handed on."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from ingest.db import create_store_engine, unit_of_work
from ingest.errors import StoreUnavailable
from ingest.write_gate import EdgeFlag, WriterGate, edge_writes, gate_for, is_edge_thread

WAIT = 10.0


def _queue_behind(gate: WriterGate, names: list[tuple[str, bool]], order: list[str]) -> None:
    """Start one thread per name, each queued at ``gate`` before the next starts."""
    for queued, (name, edge) in enumerate(names, start=1):

        def take(name: str = name, edge: bool = edge) -> None:
            assert gate.acquire(name, edge=edge, timeout=WAIT)
            order.append(name)
            gate.release(name)

        threading.Thread(target=take, daemon=True).start()
        _wait_until(partial(_queued_is, gate, queued))


def _queued(gate: WriterGate) -> int:
    return len(gate._edges) + len(gate._others)


def _queued_is(gate: WriterGate, count: int) -> bool:
    return _queued(gate) == count


def _wait_until(condition: Callable[[], bool]) -> None:
    pause = threading.Event()
    for _ in range(2000):
        if condition():
            return
        pause.wait(0.005)
    raise AssertionError("condition not reached")


def test_writers_are_served_in_arrival_order_with_edges_first() -> None:
    gate = WriterGate()
    assert gate.acquire("holder", edge=False, timeout=WAIT)
    order: list[str] = []
    _queue_behind(gate, [("worker-1", False), ("worker-2", False), ("edge", True)], order)
    assert order == []
    gate.release("holder")
    _wait_until(lambda: len(order) == 3)
    assert order == ["edge", "worker-1", "worker-2"]
    assert gate.owner is None


def test_a_waiter_that_gives_up_leaves_the_queue_and_the_next_one_is_served() -> None:
    gate = WriterGate()
    assert gate.acquire("holder", edge=False, timeout=WAIT)
    assert gate.acquire("impatient", edge=False, timeout=0.01) is False
    assert _queued(gate) == 0
    order: list[str] = []
    _queue_behind(gate, [("patient", False)], order)
    gate.release("holder")
    _wait_until(lambda: order == ["patient"])


def test_only_the_owner_releases_the_gate() -> None:
    gate = WriterGate()
    assert gate.acquire("owner", edge=False, timeout=WAIT)
    gate.release("someone else")
    assert gate.owner == "owner"
    gate.release("owner")
    assert gate.owner is None


def test_edge_writes_marks_only_the_block() -> None:
    assert not is_edge_thread()
    with edge_writes():
        assert is_edge_thread()
        with edge_writes():
            assert is_edge_thread()
        assert is_edge_thread()
    assert not is_edge_thread()


def test_a_worker_defers_while_another_process_edge_waits(tmp_path: Path) -> None:
    # Two flags on one file are two open file descriptions: two lock owners, as two
    # processes would be.
    edge, worker = EdgeFlag(str(tmp_path / "db-edge")), EdgeFlag(str(tmp_path / "db-edge"))
    release, deferred = threading.Event(), threading.Event()
    announced = threading.Event()

    def wait_to_write() -> None:
        with edge.announced():
            announced.set()
            release.wait(WAIT)

    threading.Thread(target=wait_to_write, daemon=True).start()
    announced.wait(WAIT)

    def defer() -> None:
        worker.defer_to_edges(limit=WAIT)
        deferred.set()

    threading.Thread(target=defer, daemon=True).start()
    assert not deferred.wait(0.2)
    release.set()
    assert deferred.wait(WAIT)


def test_a_worker_does_not_wait_for_ever_on_a_stuck_edge(tmp_path: Path) -> None:
    edge, worker = EdgeFlag(str(tmp_path / "db-edge")), EdgeFlag(str(tmp_path / "db-edge"))
    with edge.announced():
        worker.defer_to_edges(limit=0.05)  # returns: the bound ran out


def _engine(path: Path, timeout_ms: int | None = None) -> sessionmaker:  # type: ignore[type-arg]
    engine = create_store_engine(f"sqlite:///{path}", statement_timeout_ms=timeout_ms)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS log (who TEXT)"))
    return sessionmaker(engine)


def test_sqlite_writers_in_one_process_all_commit(tmp_path: Path) -> None:
    sessions = _engine(tmp_path / "store.db")
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(20):
                with unit_of_work(sessions) as session:
                    session.execute(text("INSERT INTO log VALUES (:w)"), {"w": f"{n}-{i}"})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 3)
    assert errors == []
    with unit_of_work(sessions) as session:
        assert session.execute(text("SELECT count(*) FROM log")).scalar_one() == 120
    assert gate_for(str(tmp_path / "store.db"))[0].owner is None


def test_an_edge_write_goes_before_queued_worker_writes(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    sessions = _engine(path)
    gate, _ = gate_for(str(path))
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with unit_of_work(sessions) as session:
            session.execute(text("INSERT INTO log VALUES ('holder')"))
            holding.set()
            release.wait(WAIT)

    def write(who: str, edge: bool) -> None:
        if edge:
            with edge_writes(), unit_of_work(sessions) as session:
                session.execute(text("INSERT INTO log VALUES (:w)"), {"w": who})
        else:
            with unit_of_work(sessions) as session:
                session.execute(text("INSERT INTO log VALUES (:w)"), {"w": who})

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(WAIT)
    writers = []
    for who, edge in (("worker-1", False), ("worker-2", False), ("edge", True)):
        thread = threading.Thread(target=write, args=(who, edge))
        thread.start()
        writers.append(thread)
        queued = len(writers)
        _wait_until(partial(_queued_is, gate, queued))
    release.set()
    for thread in [holder, *writers]:
        thread.join(WAIT)
    with unit_of_work(sessions) as session:
        rows = session.execute(text("SELECT who FROM log ORDER BY rowid")).scalars().all()
    assert rows == ["holder", "edge", "worker-1", "worker-2"]


def test_a_failed_begin_hands_the_gate_on(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    sessions = _engine(path, timeout_ms=50)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's writer, outside this gate
    try:
        with (
            pytest.raises(StoreUnavailable, match="locked"),
            unit_of_work(sessions) as session,
        ):
            session.execute(text("INSERT INTO log VALUES ('late')"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert gate_for(str(path))[0].owner is None
    with unit_of_work(sessions) as session:
        session.execute(text("INSERT INTO log VALUES ('now')"))


def test_a_connection_dropped_in_a_transaction_hands_the_gate_on(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    sessions = _engine(path)
    engine = sessions.kw["bind"]
    with engine.connect() as conn:
        conn.begin()
        conn.execute(text("INSERT INTO log VALUES ('dropped')"))
        assert gate_for(str(path))[0].owner is not None
        conn.invalidate()
    assert gate_for(str(path))[0].owner is None
    with unit_of_work(sessions) as session:
        assert session.execute(text("SELECT count(*) FROM log")).scalar_one() == 0


def test_an_in_memory_store_has_a_gate_and_no_edge_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for url in ("sqlite://", "sqlite:///:memory:"):
        engine = create_store_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        engine.dispose()
    assert list(tmp_path.iterdir()) == []
