"""Fixtures of the worker tests: pipelines on the StubBroker with settings changed per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from tests.harness import Pipeline


@pytest.fixture
def pipeline_with(
    sessions: sessionmaker[Session], settings: Settings
) -> Iterator[Callable[..., Pipeline]]:
    """Make a pipeline with some settings changed; all are closed after the test."""
    made: list[Pipeline] = []

    def make(**changes: object) -> Pipeline:
        pipe = Pipeline(settings.model_copy(update=changes), sessions)
        made.append(pipe)
        return pipe

    yield make
    for pipe in made:
        pipe.close()
