"""``omniroute tickets reply NUMBER --body TEXT``: answer a customer from the command line.

The same validation and store step as ``POST /api/tickets/{number}/replies``; the
running workers send the reply. Exits 75 (EX_TEMPFAIL) when the store is down.
"""

from __future__ import annotations

import json

import click
from pydantic import ValidationError

from ingest.agent_reply import (
    NOT_SENT,
    ReplyRefused,
    ReplyRequest,
    problems,
    record_reply,
    reply_view,
)
from ingest.db import unit_of_work
from ingest.reply_author import UnsafeAuthor, checked_author
from workers.cli.support import command_settings, store


@click.command(name="reply")
@click.argument("number", type=int)
@click.argument("text", required=False)
@click.option("--body", help="The reply text, as the customer will read it (or give it as TEXT).")
@click.option("--author", help="Who wrote it (default: OMNIROUTE_SUPPORT_NAME).")
@click.option(
    "--status",
    type=click.Choice(["pending", "solved"]),
    help="Also set the ticket's status (a new ticket becomes open anyway).",
)
@click.option(
    "--channel",
    help="Answer on this channel (one the customer wrote on; default: their latest message's).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the stored reply as JSON.")
def reply_command(  # noqa: PLR0917 (click passes every option by name or position)
    number: int,
    text: str | None,
    body: str | None,
    author: str | None,
    status: str | None,
    channel: str | None,
    as_json: bool,
) -> None:
    """Store an agent's reply on ticket NUMBER and queue it for the customer."""
    if (text is None) == (body is None):
        raise click.UsageError("give the reply text once: as TEXT or with --body")
    body = text if body is None else body
    settings = command_settings()
    try:
        reply = ReplyRequest.model_validate(
            {
                "body": body,
                "author": author or settings.support_name,
                "status": status,
                "channel": channel,
            }
        )
    except ValidationError as exc:
        found = "; ".join(f"{p['field']}: {p['problem']}" for p in problems(exc))
        raise click.ClickException(f"invalid reply: {found}") from None
    try:
        # Checked here as the API checks it: the author becomes the mail's From name.
        checked_author(reply.author)
    except UnsafeAuthor as exc:
        raise click.ClickException(f"invalid reply: {exc}") from None
    try:
        with (
            store(settings, statement_timeout_ms=10_000) as sessions,
            unit_of_work(sessions) as session,
        ):
            message = record_reply(session, number, reply)
            view = None if message is None else reply_view(message, message.ticket)
    except ReplyRefused as exc:
        raise click.ClickException(str(exc)) from None
    if view is None:
        raise click.ClickException(f"no ticket #{number}")
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    ticket = view["ticket"]
    click.echo(
        f"reply {view['id']} stored on ticket #{number} [{ticket['status']}]; "
        f"first response {ticket['sla']['first_responded_at']}"
    )
    if view["send_state"] == "queued":
        click.echo(f"the workers will send it to {view['to']}")
    else:
        why = "; ".join(str(w).removeprefix(NOT_SENT) for w in view["warnings"])
        click.echo(f"it will not be sent: {why}")
