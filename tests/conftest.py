"""Shared fixtures: a migrated store and a broker, embedded by default or named by env.

``OMNIROUTE_DATABASE_URL`` / ``OMNIROUTE_BROKER_URL`` point the suite at real
PostgreSQL and Redis; without them it runs on SQLite files and an embedded Redis.
Each test gets clean tables and its own broker namespace.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.db import create_store_engine, session_factory
from ingest.migrate import upgrade
from ingest.models import Base
from workers.embedded_redis import EmbeddedRedis

FIXTURES = Path(__file__).parent / "fixtures"
EXTERNAL_DB = os.environ.get("OMNIROUTE_DATABASE_URL")
EXTERNAL_BROKER = os.environ.get("OMNIROUTE_BROKER_URL")


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("omniroute")


@pytest.fixture(scope="session")
def database_url(session_dir: Path) -> str:
    url = EXTERNAL_DB or f"sqlite:///{session_dir / 'test.db'}"
    if EXTERNAL_DB and EXTERNAL_DB.startswith("postgresql"):
        engine = create_store_engine(EXTERNAL_DB)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url


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
def settings(tmp_path: Path, database_url: str, engine: Engine) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        broker_namespace=f"omniroute-test-{uuid.uuid4().hex[:8]}",
        recipients=("support@example.com", "billing@example.com"),
        smtp_hostname="support.example.com",
        broker_heartbeat_timeout_ms=3_000,
        outbox_poll_seconds=0.05,
    )


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
