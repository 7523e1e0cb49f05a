"""``omniroute tickets set-status NUMBER STATUS``: change a ticket's status by hand.

The change is recorded on the ticket's timeline and handed to the webhook
destinations that got the ticket (``ticket.status_changed``), by the running workers.
"""

from __future__ import annotations

import click

from config.errors import ConfigError
from config.settings import load_settings
from ingest.db import create_store_engine, session_factory, unit_of_work
from ingest.models import Ticket
from ingest.status import STATUSES, change_status


@click.command(name="set-status")
@click.argument("number", type=int)
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--reason", default="set by hand", show_default=True, help="Why; shown to desks.")
def set_status(number: int, status: str, reason: str) -> None:
    """Set ticket NUMBER's status (new, open, pending, solved, closed)."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    engine = create_store_engine(settings.resolved_database_url)
    try:
        with unit_of_work(session_factory(engine)) as session:
            ticket = session.get(Ticket, number, with_for_update=True)
            if ticket is None:
                raise click.ClickException(f"no ticket #{number}")
            old = ticket.status
            changed = change_status(session, ticket, status, reason)
    finally:
        engine.dispose()
    if changed is None:
        click.echo(f"ticket #{number} is already {status}")
    else:
        click.echo(f"ticket #{number}: {old} -> {status}")
