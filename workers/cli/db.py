"""``omniroute db upgrade``: apply the store's migrations."""

from __future__ import annotations

import click

from config.errors import ConfigError
from workers.cli.support import command_settings


@click.group()
def db() -> None:
    """Database administration."""


@db.command(name="upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    from ingest.migrate import upgrade

    settings = command_settings()
    try:
        settings.ensure_data_dir()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    upgrade(settings.resolved_database_url)
    click.echo("database is up to date")
