"""Fixtures of the HTTP tests: an agent's API token, made in the store under test."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.tokens import issue


@pytest.fixture
def agent_token(sessions: sessionmaker[Session]) -> str:
    """A token named ``alice`` that may read tickets and reply (signed ``alice``)."""
    return issue(sessions, "alice")
