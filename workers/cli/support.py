"""What the ticket-changing commands share: settings, and one locked ticket in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session, sessionmaker

from config.errors import ConfigError
from config.logs import configure_logging
from config.settings import Settings, load_settings
from ingest.db import TAKE_TURNS, create_store_engine, session_factory, unit_of_work
from ingest.models import Ticket

Sessions = sessionmaker[Session]


def command_settings(role: str = "cli") -> Settings:
    """The settings, or a clean command-line error naming the bad variable; logging is
    set up as they say, with ``role`` on every record."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    configure_logging(settings.log_level, settings.log_format, role)
    return settings


@contextmanager
def store(settings: Settings, statement_timeout_ms: int | None = None) -> Iterator[Sessions]:
    """Sessions on the configured store for one command; the engine is closed after."""
    engine = create_store_engine(
        settings.resolved_database_url, statement_timeout_ms=statement_timeout_ms
    )
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


@contextmanager
def locked_ticket(settings: Settings, number: int) -> Iterator[tuple[Session, Ticket]]:
    """Ticket ``number``, locked for update, in a transaction committed on success."""
    with store(settings) as sessions, unit_of_work(sessions) as session:
        ticket = session.get(Ticket, number, with_for_update=TAKE_TURNS)
        if ticket is None:
            raise click.ClickException(f"no ticket #{number}")
        yield session, ticket
