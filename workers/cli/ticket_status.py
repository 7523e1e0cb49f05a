"""``omniroute tickets set-status NUMBER STATUS``: change a ticket's status by hand.

The change is recorded on the ticket's timeline and handed to the webhook
destinations that got the ticket (``ticket.status_changed``), by the running workers.
"""

from __future__ import annotations

import click

from config.statuses import STATUSES
from ingest.status import change_status
from workers.cli.support import command_settings, locked_ticket


@click.command(name="set-status")
@click.argument("number", type=int)
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--reason", default="set by hand", show_default=True, help="Why; shown to desks.")
def set_status(number: int, status: str, reason: str) -> None:
    """Set ticket NUMBER's status (new, open, pending, solved, closed)."""
    with locked_ticket(command_settings(), number) as (session, ticket):
        old = ticket.status
        changed = change_status(session, ticket, status, reason)
    if changed is None:
        click.echo(f"ticket #{number} is already {status}")
    else:
        click.echo(f"ticket #{number}: {old} -> {status}")
