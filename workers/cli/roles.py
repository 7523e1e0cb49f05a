"""``omniroute run`` and one command per Procfile role (web, smtp, imap, slack, worker,
scheduler)."""

from __future__ import annotations

import logging
from functools import partial

import click

from config.errors import ConfigError
from config.settings import Settings
from workers.cli.support import command_settings

log = logging.getLogger(__name__)


@click.command()
def run() -> None:
    """Everything on one machine (embedded SQLite + Redis unless URLs are set)."""
    from workers.process.run import run_all
    from workers.process.supervisor import StartFailed, run_apart

    settings = command_settings("run")
    try:
        if settings.rules_file is not None:
            # In a child of its own: the rules' schema and the YAML parser leave with it,
            # so the edges `run` forks next do not carry them (its workers load the
            # rules again when they start).
            run_apart("checking the rules", partial(_check_rules_or_exit, settings))
        run_all(settings)
    except (ConfigError, StartFailed) as exc:
        raise click.ClickException(str(exc)) from None


# Roles that decide with the rules (and their model); the edges only store input.
RULES_ROLES = frozenset({"worker", "scheduler"})


def _role_command(role: str, doc: str) -> click.Command:
    @click.command(name=role, help=doc)
    def command() -> None:
        from workers.process.roles import MissingBroker, run_role

        settings = command_settings(role)
        if role in RULES_ROLES:
            _check_rules(settings)
        try:
            run_role(role, settings)
        except (MissingBroker, ConfigError) as exc:
            raise click.ClickException(str(exc)) from None

    return command


web = _role_command("web", "Serve the HTTP app (health, metrics, API, console).")
smtp = _role_command("smtp", "Serve the SMTP edge.")
imap = _role_command("imap", "Read the configured IMAP mailboxes (one lease holder per mailbox).")
slack = _role_command("slack", "Take Slack events in over Socket Mode (OMNIROUTE_SLACK_APP_TOKEN).")
worker = _role_command("worker", "Run Dramatiq workers and an outbox relay.")
scheduler = _role_command("scheduler", "Run the outbox relay and periodic sweeps.")


def _check_rules(settings: Settings) -> None:
    """Fail at start, naming file and line, when the rules file (or the model it names) is
    invalid. The shipped model that rules without ``classifier:`` get is not read here:
    only a worker reads it, on its first ticket."""
    if settings.rules_file is None:
        return
    from config.rules import load_rules
    from workers.triage.classifier_loader import load_classifier

    try:
        rules = load_rules(settings.rules_file)
        if rules.categorize.classifier is not None:
            load_classifier(rules)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _check_rules_or_exit(settings: Settings) -> None:
    """``_check_rules`` in a child of ``run``: an invalid file is logged, then the child
    exits with status 1."""
    try:
        _check_rules(settings)
    except click.ClickException as exc:
        log.error("%s", exc.format_message())
        raise SystemExit(1) from None
