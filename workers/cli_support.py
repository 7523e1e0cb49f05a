"""What the ticket-changing commands share: settings, and one locked ticket in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from config.errors import ConfigError
from config.settings import Settings, load_settings
from ingest.db import create_store_engine, session_factory, unit_of_work
from ingest.models import Ticket


def command_settings() -> Settings:
    """The settings, or a clean command-line error naming the bad variable."""
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def locked_ticket(settings: Settings, number: int) -> Iterator[tuple[Session, Ticket]]:
    """Ticket ``number``, locked for update, in a transaction committed on success."""
    engine = create_store_engine(settings.resolved_database_url)
    try:
        with unit_of_work(session_factory(engine)) as session:
            ticket = session.get(Ticket, number, with_for_update=True)
            if ticket is None:
                raise click.ClickException(f"no ticket #{number}")
            yield session, ticket
    finally:
        engine.dispose()
