"""``omniroute forms refused|release|revoke``: the posts the guards refused, releasing a
false positive into a ticket, and withdrawing a ticket's follow-up links."""

from __future__ import annotations

import json

import click

from ingest.blobs import BlobError, blob_store_for
from ingest.db import unit_of_work
from ingest.follow_ups import revoke as revoke_links
from ingest.form_refusals import NotReleasable, list_refusals, release
from workers.cli.support import command_settings, store


@click.group()
def forms() -> None:
    """Web forms: refused posts and follow-up links."""


@forms.command("refused")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def refused(limit: int, as_json: bool) -> None:
    """The latest posts refused as abuse, with their reasons."""
    with store(command_settings()) as sessions, sessions() as session:
        rows = list_refusals(session, limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No refused posts.")
    for row in rows:
        released = f" released as inbound {row['inbound_id']}" if row["released"] else ""
        click.echo(
            f"{row['id']:>6}  {row['created_at'][:19]}  {row['form']:<12} {row['reason']:<14}"
            f" {row['email'] or '-':<30} {row['client_ip'] or '-'}  {row['detail']}{released}"
        )


@forms.command("release")
@click.argument("refusal_id", type=int)
def release_command(refusal_id: int) -> None:
    """Accept a refused post after all (the worker makes it a ticket)."""
    settings = command_settings()
    with store(settings) as sessions:
        try:
            accepted = release(sessions, refusal_id, blob_store_for(settings))
        except (NotReleasable, BlobError) as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Released refused post {refusal_id} as inbound {accepted.inbound_id}.")


@forms.command("revoke")
@click.argument("number", type=int)
def revoke(number: int) -> None:
    """Withdraw every follow-up link of ticket NUMBER issued until now."""
    with store(command_settings()) as sessions, unit_of_work(sessions) as session:
        found = revoke_links(session, number)
    if not found:
        raise click.ClickException(f"no ticket #{number}")
    click.echo(f"Follow-up links of ticket #{number} withdrawn.")
