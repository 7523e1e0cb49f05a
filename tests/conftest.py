"""Shared fixtures: a migrated store and a broker, embedded by default or named by env.

``OMNIROUTE_DATABASE_URL`` / ``OMNIROUTE_BROKER_URL`` point the suite at real
PostgreSQL and Redis; without them it runs on SQLite files and an embedded Redis.
Each test gets clean tables and its own broker namespace.

An actor records a bug in ``failed_work`` instead of raising it, so a test could
pass while a stage crashed: every test that used the store fails when it leaves a
``failed_work`` row, unless it is marked ``@pytest.mark.failed_work`` (it provokes
the bug on purpose and checks the row itself).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
from sqlalchemy import Engine, create_engine, make_url, select, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from config.settings import Settings
from ingest.db import create_store_engine, session_factory
from ingest.migrate import upgrade
from ingest.models import Base, FailedWork
from ingest.refusals import REFUSALS
from workers.process.broker import is_rabbitmq
from workers.process.embedded_redis import EmbeddedRedis

pytest_plugins = ["tests.s3_server"]

FIXTURES = Path(__file__).parent / "fixtures"
EXTERNAL_DB = os.environ.get("OMNIROUTE_DATABASE_URL")
# Like every process of a deployment on a server database, the suite shares one
# signing key (settings read from the environment would otherwise refuse to sign).
os.environ.setdefault("OMNIROUTE_SIGNING_KEY", "test-signing-key-not-secret")
EXTERNAL_BROKER = os.environ.get("OMNIROUTE_BROKER_URL")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "failed_work: the test provokes a bug on purpose; failed_work rows are expected"
    )


@pytest.fixture(autouse=True)
def no_refusals_from_other_tests() -> None:
    """Each test starts with this process's refusal tally empty (it is process-wide)."""
    REFUSALS.take()


@pytest.fixture(autouse=True)
def no_unexpected_failed_work(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a ``failed_work`` row it did not ask for."""
    yield
    if "engine" not in request.fixturenames or request.node.get_closest_marker("failed_work"):
        return
    # The test's own engine is closed by now; the session's database is still there.
    engine = create_engine(request.getfixturevalue("database_url"), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(FailedWork.stage, FailedWork.payload, FailedWork.traceback))
            found = [f"{stage} {payload}:\n{trace}" for stage, payload, trace in rows]
    finally:
        engine.dispose()
    if found:
        pytest.fail("work failed with a bug (failed_work):\n" + "\n".join(found), pytrace=False)


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("omniroute")


@pytest.fixture(scope="session")
def database_url(session_dir: Path) -> Iterator[str]:
    if not EXTERNAL_DB:
        url = f"sqlite:///{session_dir / 'test.db'}"
        upgrade(url)
        yield url
        return
    # A database of our own on the named server, so the suite never touches the
    # data in the database the URL names.
    server = make_url(EXTERNAL_DB)
    name = f"omniroute_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def broker_url(session_dir: Path) -> Iterator[str]:
    if EXTERNAL_BROKER:
        yield EXTERNAL_BROKER
        return
    server = EmbeddedRedis(session_dir / "redis")
    yield server.url
    server.close()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_store_engine(database_url)
    _truncate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, engine: Engine) -> Iterator[Settings]:
    namespace = f"omniroute-test-{uuid.uuid4().hex[:8]}"
    yield Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        broker_namespace=namespace,
        recipients=("support@example.com", "billing@example.com"),
        smtp_hostname="support.example.com",
        broker_heartbeat_timeout_ms=3_000,
        outbox_poll_seconds=0.05,
        # One key for every process of the deployment (required with a server database).
        signing_secret="test-signing-key-not-secret",
    )
    if EXTERNAL_BROKER and is_rabbitmq(EXTERNAL_BROKER):
        _delete_rabbitmq_queues(EXTERNAL_BROKER, namespace)


def _delete_rabbitmq_queues(url: str, queue: str) -> None:
    """RabbitMQ has no key namespace: the test's queues are deleted when it ends."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            channel.queue_delete(name)
    finally:
        connection.close()


def _truncate(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


def fixture_bytes(*parts: str) -> bytes:
    return FIXTURES.joinpath(*parts).read_bytes()
