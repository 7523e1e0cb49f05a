"""``omniroute ingest``: the MTA pipe edge on the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from channels import replies
from workers.cli.support import command_settings


@click.command()
@click.argument("source", default="-")
def ingest(source: str) -> None:
    """Accept one raw RFC 822 message from FILE or stdin (for an MTA pipe).

    Exits 0 once stored, 75 (EX_TEMPFAIL) when the store is down so the MTA retries.
    """
    try:
        settings = command_settings()
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        click.echo(f"omniroute ingest: cannot read {source}: {exc}", err=True)
        sys.exit(replies.EXIT_DATAERR)
    from channels.pipe import accept_piped

    result = accept_piped(settings, raw)
    if result.exit_code != replies.EXIT_OK:
        click.echo(f"omniroute ingest: {result.message}", err=True)
        sys.exit(result.exit_code)
    click.echo(result.message)
