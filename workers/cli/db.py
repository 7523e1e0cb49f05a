"""``omniroute db upgrade|prune``: apply the store's migrations; delete what is kept no longer."""

from __future__ import annotations

import click

from config.errors import ConfigError
from workers.cli.support import command_settings, store


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


@db.command(name="prune")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
def db_prune(dry_run: bool) -> None:
    """Delete done work, old refused form posts and idle rate buckets now.

    The scheduler does this every hour; OMNIROUTE_KEEP_DONE_WORK_DAYS and
    OMNIROUTE_KEEP_REFUSED_POSTS_DAYS say how long each is kept (0: for ever).
    """
    from config.form_settings import FormSettings
    from ingest.models import utcnow
    from ingest.prune import prune
    from workers.process.housekeeping import described, retention_for

    settings = command_settings()
    retention = retention_for(settings, FormSettings())
    with store(settings) as sessions:
        pruned = prune(sessions, retention, utcnow(), dry_run=dry_run)
    click.echo(f"{'would delete' if dry_run else 'deleted'} {described(pruned)}")
