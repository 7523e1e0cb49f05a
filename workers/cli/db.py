"""``omniroute db upgrade|prune|backup``: migrations, housekeeping, and a copy of the store."""

from __future__ import annotations

from pathlib import Path

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


@db.command(name="backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(target: Path) -> None:
    """Copy the embedded SQLite store to TARGET, consistently, while omniroute runs.

    A PostgreSQL store is backed up with pg_dump. Attachments and large inputs live in
    the blob store, which this does not copy.
    """
    from ingest.backup import BackupRefused, backup_sqlite
    from ingest.blobs import blob_store_for

    settings = command_settings()
    try:
        size = backup_sqlite(settings.resolved_database_url, target)
    except BackupRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backed up the store to {target} ({size / 2**20:.1f} MiB)")
    click.echo(
        f"the blob store ({blob_store_for(settings).location}) holds attachments and large "
        "inputs: back it up as well"
    )
