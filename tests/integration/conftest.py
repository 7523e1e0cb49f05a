"""Fixtures for the integration tier: tracked subprocesses, stopped even when a test fails,
and a broker of the test's own to take down: a private Redis, or, when
``OMNIROUTE_BROKER_URL`` names a RabbitMQ, that RabbitMQ behind a cut-off switch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import Settings
from tests.conftest import EXTERNAL_BROKER
from tests.integration.support import (
    BrokerServer,
    PrivateRedis,
    Processes,
    SharedRabbitmq,
)
from workers.process.broker import is_rabbitmq


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path / "logs")
    try:
        yield procs
    finally:
        procs.stop_all()


@pytest.fixture
def broker_server(tmp_path: Path, settings: Settings) -> Iterator[BrokerServer]:
    """Started; stopped when the test ends."""
    if EXTERNAL_BROKER and is_rabbitmq(EXTERNAL_BROKER):
        rabbit = SharedRabbitmq(EXTERNAL_BROKER)
        rabbit.start()
        try:
            yield rabbit
        finally:
            rabbit.stop()
        return
    redis_server = PrivateRedis(tmp_path / "redis")
    redis_server.start()
    try:
        yield redis_server
    finally:
        redis_server.stop()
