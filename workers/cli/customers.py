"""``omniroute customers show|link|unlink``: see who a customer is on every channel, and correct it.

References: a customer id, ``kind:value`` (``email:…``, ``phone:+…``, ``slack:T…:U…``,
``web:…``), a bare email address or a bare phone number.
"""

from __future__ import annotations

import json
from typing import Any

import click

from ingest.customers import CustomerNotFound, customer_view, find_customer, link, unlink
from ingest.db import unit_of_work
from ingest.merges import MergeError
from workers.cli.support import command_settings, store


@click.group()
def customers() -> None:
    """Customers and their identities on every channel."""


@customers.command(name="show")
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def customers_show(reference: str, as_json: bool) -> None:
    """One customer: identities (with provenance), tickets, merges and suggestions."""
    settings = command_settings()
    with store(settings) as sessions, sessions() as session:
        try:
            view = customer_view(
                session, find_customer(session, reference, settings.default_phone_region)
            )
        except CustomerNotFound as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    click.echo(_render(view))


@customers.command(name="link")
@click.argument("keep")
@click.argument("other")
@click.option("--by", default="an agent", show_default=True, help="Who says they are one.")
def customers_link(keep: str, other: str, by: str) -> None:
    """Say OTHER is the same customer as KEEP: OTHER's identities and tickets move to KEEP."""
    settings = command_settings()
    region = settings.default_phone_region
    with store(settings) as sessions, unit_of_work(sessions) as session:
        try:
            target = find_customer(session, keep, region)
            source = find_customer(session, other, region)
            merge = link(session, target, source, by=by)
        except (CustomerNotFound, MergeError) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(
            f"merge {merge.id}: customer #{source.id} linked into #{target.id} "
            f"({len(merge.identity_ids)} identities, {len(merge.ticket_ids)} tickets)"
        )


@customers.command(name="unlink")
@click.argument("identity")
def customers_unlink(identity: str) -> None:
    """Undo the merge that brought IDENTITY, or give IDENTITY a customer of its own."""
    settings = command_settings()
    with store(settings) as sessions, unit_of_work(sessions) as session:
        try:
            click.echo(unlink(session, identity, settings.default_phone_region))
        except (CustomerNotFound, MergeError) as exc:
            raise click.ClickException(str(exc)) from None


def _render(view: dict[str, Any]) -> str:
    merged = f" (merged into #{view['merged_into']})" if view["merged_into"] else ""
    lines = [f"Customer #{view['id']}  {view['name'] or '-'}{merged}", "Identities:"]
    for i in view["identities"]:
        proof = "verified" if i["verified"] else "unverified"
        off = f"  SUPPRESSED: {i['suppressed']}" if i["suppressed"] else ""
        lines.append(f"  {i['kind']:<6} {i['value']}  ({i['provenance']}, {proof}){off}")
    lines.append("Tickets:" if view["tickets"] else "Tickets: none")
    lines.extend(
        f"  #{t['number']:<6} {t['status']:<8} {t['channel']:<8} {t['subject'][:60]}"
        for t in view["tickets"]
    )
    for m in view["merges"]:
        undone = f", undone {m['undone_at']}" if m["undone_at"] else ""
        lines.append(f"Merge {m['id']}: #{m['from']} into #{m['into']} ({m['reason']}{undone})")
    lines.extend(f"Suggestion on #{s['ticket']}: {s['note']}" for s in view["suggestions"])
    return "\n".join(lines)
