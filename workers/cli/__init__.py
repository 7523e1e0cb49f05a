"""The ``omniroute`` command line.

Commands live one family per module and are imported only when run (see ``lazy.py``),
so a quick look at tickets does not wait for the worker, SMTP or scikit-learn stacks.
"""

from __future__ import annotations

from typing import Any

import click

from channels.replies import EXIT_TEMPFAIL
from ingest.errors import StoreUnavailable
from workers.cli.lazy import LazyGroup

COMMANDS = {
    "run": (
        "workers.cli.roles:run",
        "Everything on one machine (embedded SQLite + Redis unless URLs are set).",
    ),
    "web": ("workers.cli.roles:web", "Serve the HTTP app (health, metrics, API, console)."),
    "smtp": ("workers.cli.roles:smtp", "Serve the SMTP edge."),
    "imap": (
        "workers.cli.roles:imap",
        "Read the configured IMAP mailboxes (one lease holder per mailbox).",
    ),
    "slack": (
        "workers.cli.roles:slack",
        "Take Slack events in over Socket Mode (OMNIROUTE_SLACK_APP_TOKEN).",
    ),
    "worker": ("workers.cli.roles:worker", "Run Dramatiq workers and an outbox relay."),
    "scheduler": ("workers.cli.roles:scheduler", "Run the outbox relay and periodic sweeps."),
    "ingest": (
        "workers.cli.pipe:ingest",
        "Accept one raw RFC 822 message from FILE or stdin (for an MTA pipe).",
    ),
    "db": ("workers.cli.db:db", "Database administration."),
    "tickets": ("workers.cli.tickets:tickets", "Look at tickets."),
    "rules": ("workers.cli.rules:rules", "Rules files."),
    "status": (
        "workers.cli.status:status",
        "Each role's last heartbeat and the oldest due work.",
    ),
    "replay": (
        "workers.cli.replay:replay_command",
        "Dry run: decide stored tickets under new rules or another model; print what would change.",
    ),
    "customers": (
        "workers.cli.customers:customers",
        "Customers and their identities on every channel.",
    ),
    "deliveries": ("workers.cli.deliveries:deliveries", "Hand-offs to other help desks."),
    "train": (
        "workers.cli.classifier:train",
        "Train the category model and write it as a versioned, safe-to-load artifact.",
    ),
    "evaluate": (
        "workers.cli.classifier:evaluate",
        "Print accuracy, macro-F1, a per-label report and the confusion matrix.",
    ),
    "tokens": ("workers.cli.tokens:tokens", "Bearer tokens for the HTTP API."),
    "inbound": (
        "workers.cli.failures:inbound",
        "Input as received: quarantined, failed or still pending.",
    ),
    "failed": (
        "workers.cli.failures:failed",
        "Work that failed with a bug, kept with its stage and traceback.",
    ),
    "forms": ("workers.cli.forms:forms", "Web forms: refused posts and follow-up links."),
    "model": (
        "workers.cli.model:model_group",
        "The category models trained from the store, and which one triage uses.",
    ),
}


class Commands(LazyGroup):
    """Every command ends alike when the store cannot answer: one line on stderr and
    exit status 75 (EX_TEMPFAIL), so a script, a cron job or an MTA knows to try again;
    and on a store not migrated for this release: one line saying what to run, status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoreUnavailable as exc:
            click.echo(f"omniroute: store unavailable, try again later: {exc}", err=True)
            ctx.exit(EXIT_TEMPFAIL)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            # A store not (fully) migrated: the deployment's to fix, in one line. Loaded
            # here only: `omniroute --help` does not import the store's stack.
            from ingest.schema import UPGRADE, is_schema_missing

            if not is_schema_missing(exc):
                raise
            reason = str(getattr(exc, "orig", exc)).splitlines()[0]
            click.echo(
                f"omniroute: the store lacks what this omniroute needs ({reason}): {UPGRADE}",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=Commands, lazy=COMMANDS)
@click.version_option(package_name="omniroute", prog_name="omniroute")
def main() -> None:
    """omniroute: support tickets from email, forms, Slack and SMS, routed to where agents work."""
