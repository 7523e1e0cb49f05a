"""``omniroute inbound list|replay`` and ``omniroute failed list|retry``.

Quarantined input (the sender's fault) and failed input or work (a bug) are kept;
these commands show them and, once the cause is fixed, put them back in the
outbox, where the running workers pick them up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click
from sqlalchemy.orm import Session

from ingest.db import read_only, unit_of_work
from ingest.failures import (
    INBOUND_STATUSES,
    REPLAYABLE,
    NotReplayable,
    inbound_ids,
    list_failed,
    list_inbound,
    replay_inbound,
    retry_failed,
    retryable_failed_ids,
)
from workers.cli.support import Sessions, command_settings, store


@click.group()
def inbound() -> None:
    """Input as received: quarantined, failed or still pending."""


@inbound.command(name="list")
@click.option(
    "--status",
    type=click.Choice(INBOUND_STATUSES),
    help="Only records in this status (default: quarantined and failed).",
)
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def inbound_list(status: str | None, limit: int, as_json: bool) -> None:
    """Inbound records, newest first."""
    statuses = (status,) if status else REPLAYABLE
    with store(command_settings()) as sessions, read_only(sessions) as session:
        rows = list_inbound(session, statuses, limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"no inbound records {' or '.join(statuses)}")
    for row in rows:
        click.echo(
            f"{row['id']:<7} {row['status']:<11} {row['channel']:<6} {row['received_at']}  "
            f"{row['from'][:40]:<40} {row['subject'][:40]}"
        )
        if row["reason"]:
            click.echo(f"        {row['reason'].splitlines()[0][:160]}")


@inbound.command(name="replay")
@click.argument("inbound_id", type=int, required=False)
@click.option("--status", type=click.Choice(REPLAYABLE), help="Replay every record in this status.")
def inbound_replay(inbound_id: int | None, status: str | None) -> None:
    """Ingest a quarantined or failed record again (after a fix); ID or --status."""
    if (inbound_id is None) == (status is None):
        raise click.UsageError("give an inbound ID or --status, not both")
    with store(command_settings()) as sessions:
        if inbound_id is not None:
            _one(sessions, lambda session: replay_inbound(session, inbound_id))
            click.echo(f"inbound {inbound_id} queued for ingest")
            return
        assert status is not None
        done = _each(sessions, inbound_ids, status, replay_inbound)
    click.echo(f"{len(done)} inbound record(s) queued for ingest")


@click.group()
def failed() -> None:
    """Work that failed with a bug, kept with its stage and traceback."""


@failed.command(name="list")
@click.option("--all", "include_replayed", is_flag=True, help="Include work already retried.")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON, with tracebacks.")
def failed_list(include_replayed: bool, limit: int, as_json: bool) -> None:
    """Recorded bugs, newest first."""
    with store(command_settings()) as sessions, read_only(sessions) as session:
        rows = list_failed(session, include_replayed, limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no failed work")
    for row in rows:
        retried = f"  retried {row['replayed_at']}" if row["replayed_at"] else ""
        payload = " ".join(f"{k}={v}" for k, v in row["payload"].items())
        click.echo(f"{row['id']:<6} {row['stage']:<14} {payload:<30} {row['created_at']}{retried}")
        click.echo(f"       {row['error'].splitlines()[0][:160] if row['error'] else ''}")


@failed.command(name="retry")
@click.argument("failed_id", type=int, required=False)
@click.option("--all", "retry_all", is_flag=True, help="Retry every failure not retried yet.")
def failed_retry(failed_id: int | None, retry_all: bool) -> None:
    """Run failed work again (after a fix); ID or --all."""
    if (failed_id is None) == (not retry_all):
        raise click.UsageError("give a failed work ID or --all, not both")
    with store(command_settings()) as sessions:
        if failed_id is not None:
            _one(sessions, lambda session: retry_failed(session, failed_id))
            click.echo(f"failed work {failed_id} queued again")
            return
        done = _each(sessions, lambda session, _: retryable_failed_ids(session), None, retry_failed)
    click.echo(f"{len(done)} failed work item(s) queued again")


def _one(sessions: Sessions, action: Callable[[Session], None]) -> None:
    try:
        with unit_of_work(sessions) as session:
            action(session)
    except NotReplayable as exc:
        raise click.ClickException(str(exc)) from None


def _each(
    sessions: Sessions,
    select_ids: Callable[[Session, Any], list[int]],
    selector: Any,
    action: Callable[[Session, int], None],
) -> list[int]:
    """``action`` on each selected id, one transaction each; a refusal is reported, not fatal."""
    with sessions() as session:
        ids = select_ids(session, selector)
    done = []
    for item in ids:
        try:
            with unit_of_work(sessions) as session:
                action(session, item)
        except NotReplayable as exc:
            click.echo(f"skipped: {exc}", err=True)
            continue
        done.append(item)
    return done
