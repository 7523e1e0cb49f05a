"""Migrations match the models on the configured backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from ingest.models import Base


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    # Given a store migrated to head (the session fixture did it)
    with engine.connect() as conn:
        # When the live schema is compared with the models
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # Then nothing is missing or extra
    assert diff == []
