"""Apply the Alembic migrations shipped in ``ingest/migrations``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def revision(database_url: str, message: str) -> None:
    """Generate a new migration from the models (for developers)."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True)
