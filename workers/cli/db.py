"""``omniroute db upgrade``: apply the store's migrations."""

from __future__ import annotations

import click

from workers.cli.support import command_settings


@click.group()
def db() -> None:
    """Database administration."""


@db.command(name="upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    from ingest.migrate import upgrade

    settings = command_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    click.echo("database is up to date")
