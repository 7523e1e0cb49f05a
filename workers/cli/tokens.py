"""``omniroute tokens create|list|revoke``: the bearer tokens of the HTTP API.

``create`` prints what it made and then the token alone on the last line, the only
time its secret is shown (the store keeps a keyed hash of it). ``list`` never shows
a secret. ``revoke`` takes a token's name or its id (the key id in the token) and
takes effect at once in every process. Exits 75 (EX_TEMPFAIL) when the store is down.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.orm import Session

from ingest.db import unit_of_work
from ingest.tokens import SCOPES, TokenError, create_token, list_tokens, revoke_token
from workers.cli.support import command_settings, store


@click.group()
def tokens() -> None:
    """Bearer tokens for the HTTP API."""


@tokens.command(name="create")
@click.option("--name", required=True, help="A unique name; replies record it.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="What the token may do (repeat for several); admin implies every scope.",
)
@click.option(
    "--author",
    "authors",
    multiple=True,
    help="A name replies sent with this token may be signed with (repeatable; "
    "default: only the token's name).",
)
def create(name: str, scopes: tuple[str, ...], authors: tuple[str, ...]) -> None:
    """Create a token and print it, once, on the last line."""
    with _transaction() as session:
        try:
            made = create_token(session, name, scopes, authors)
        except TokenError as exc:
            raise click.ClickException(str(exc)) from None
    signs_as = ", ".join(made.authors) if made.authors else made.name
    click.echo(f"created token {made.name!r} (id {made.key_id}) with {', '.join(made.scopes)}")
    click.echo(f"replies sent with it are signed as: {signs_as}")
    click.echo("the token is shown only now; send it as 'Authorization: Bearer <token>':")
    click.echo(made.token)


@tokens.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(as_json: bool) -> None:
    """Every token with its scopes and times (never a secret)."""
    with _transaction() as session:
        rows = list_tokens(session)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no tokens (create one with: omniroute tokens create --name NAME --scope …)")
        return
    for row in rows:
        click.echo(_line(row))


@tokens.command(name="revoke")
@click.argument("name_or_id")
def revoke(name_or_id: str) -> None:
    """Revoke the token with this NAME or ID; it stops working at once."""
    with _transaction() as session:
        row = revoke_token(session, name_or_id)
        if row is None:
            raise click.ClickException(f"no token named or with id {name_or_id!r}")
        name, key_id, when = row.name, row.key_id, row.revoked_at
    assert when is not None
    click.echo(f"revoked token {name!r} (id {key_id}) at {when.isoformat()}")


def _line(row: dict[str, Any]) -> str:
    state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
    used = row["last_used_at"] or "never"
    authors = f"  authors {', '.join(row['authors'])}" if row["authors"] else ""
    return (
        f"{row['id']}  {row['name']}  [{', '.join(row['scopes'])}]  {state}  "
        f"created {row['created_at']}  last used {used}{authors}"
    )


@contextmanager
def _transaction() -> Iterator[Session]:
    settings = command_settings()
    with (
        store(settings, statement_timeout_ms=10_000) as sessions,
        unit_of_work(sessions) as session,
    ):
        yield session
