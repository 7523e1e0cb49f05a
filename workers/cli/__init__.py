"""The ``omniroute`` command line."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from channels import replies
from config.errors import ConfigError
from config.settings import Settings, load_settings
from ingest.db import create_store_engine, session_factory
from ingest.migrate import upgrade
from ingest.views import list_tickets, show_ticket
from workers.cli.category import set_category
from workers.cli.classifier import evaluate as evaluate_command
from workers.cli.classifier import train as train_command
from workers.cli.deliveries import deliveries
from workers.cli.replay import replay_command
from workers.cli.reply import reply_command
from workers.cli.ticket_status import set_status


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # aiosmtpd logs every protocol line at INFO; keep that for DEBUG.
    if settings.log_level != "DEBUG":
        logging.getLogger("mail.log").setLevel(logging.WARNING)
    return settings


@click.group()
def main() -> None:
    """omniroute: support tickets from email, routed to where agents work."""


@main.command()
def run() -> None:
    """Everything in one process (embedded SQLite + Redis unless URLs are set)."""
    from workers.process.roles import run_all

    settings = _settings()
    _check_rules(settings)
    try:
        run_all(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _role_command(role: str, doc: str) -> None:
    @main.command(name=role, help=doc)
    def command() -> None:
        from workers.process.roles import MissingBroker, run_role

        settings = _settings()
        _check_rules(settings)
        try:
            run_role(role, settings)
        except (MissingBroker, ConfigError) as exc:
            raise click.ClickException(str(exc)) from None


_role_command("web", "Serve the HTTP app (health, metrics, ticket API).")
_role_command("smtp", "Serve the SMTP edge.")
_role_command("imap", "Read the configured IMAP mailboxes (one lease holder per mailbox).")
_role_command("worker", "Run Dramatiq workers and an outbox relay.")
_role_command("scheduler", "Run the outbox relay and periodic sweeps.")


@main.command()
@click.argument("source", default="-")
def ingest(source: str) -> None:
    """Accept one raw RFC 822 message from FILE or stdin (for an MTA pipe).

    Exits 0 once stored, 75 (EX_TEMPFAIL) when the store is down so the MTA retries.
    """
    try:
        settings = _settings()
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


@main.group()
def db() -> None:
    """Database administration."""


@db.command(name="upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    click.echo("database is up to date")


@main.group()
def tickets() -> None:
    """Look at tickets."""


@tickets.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--limit", default=50, show_default=True)
def tickets_list(as_json: bool, limit: int) -> None:
    """The most recent tickets."""
    settings = _settings()
    engine = create_store_engine(settings.resolved_database_url)
    with session_factory(engine)() as session:
        rows = list_tickets(session, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no tickets yet")
    for row in rows:
        click.echo(
            f"#{row['number']:<6} {row['status']:<8} {row['channel']:<6} "
            f"{row['priority'] or '-':<8} {row['category'] or '-':<15} {row['team'] or '-':<12} "
            f"{row['customer']['email'] or '-'}  {row['subject'][:60]}"
        )


@tickets.command(name="show")
@click.argument("number", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def tickets_show(number: int, as_json: bool) -> None:
    """One ticket with its messages, decision and deliveries."""
    settings = _settings()
    engine = create_store_engine(settings.resolved_database_url)
    with session_factory(engine)() as session:
        view = show_ticket(session, number)
    if view is None:
        raise click.ClickException(f"no ticket #{number}")
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    click.echo(_render_ticket(view))


def _render_ticket(view: dict[str, Any]) -> str:
    customer = view["customer"]
    lines = [
        f"Ticket #{view['number']}  [{view['status']}]  via {view['channel']}",
        f"Customer:  {customer['name'] or ''} <{customer['email']}>",
        f"Subject:   {view['subject']}",
        f"Category:  {view['category']}   Priority: {view['priority']}   Team: {view['team']}",
        f"Assignee:  {view['assignee'] or '-'}   Tier: {view['tier'] or '-'}   "
        f"Language: {view['language'] or '-'}   Tags: {', '.join(view['tags']) or '-'}",
    ]
    sla = view.get("sla") or {}
    if sla.get("first_response_due_at") or sla.get("resolution_due_at"):
        lines.append(
            f"SLA:       first response due {sla['first_response_due_at'] or '-'}"
            f" (met {sla['first_responded_at'] or 'not yet'}), resolution due "
            f"{sla['resolution_due_at'] or '-'} (met {sla['resolved_at'] or 'not yet'})"
        )
    if view["threading"]:
        lines.append(f"Threading: {view['threading']['signal']} ({view['threading']['detail']})")
    decision = view["decision"]
    if decision:
        lines.append(f"Decision (rules {decision['rules_version']}):")
        lines.extend(
            f"  {'+' if r['matched'] else '-'} {r['stage']:<9} {r['rule']}: {r['reason']}"
            for r in decision["reasons"]
        )
    lines.append("Deliveries:" if view["deliveries"] else "Deliveries: none")
    for d in view["deliveries"]:
        extra = f" external {d['external_id']}" if d["external_id"] else ""
        error = f" last error: {d['last_error']}" if d["last_error"] else ""
        lines.append(
            f"  {d['destination']} {d['event']}: {d['status']} after {d['attempts']} attempt(s)"
            f"{extra}{error}"
        )
    for send in view["automated_sends"]:
        why = f" ({send['reason']})" if send["reason"] else ""
        lines.append(f"Acknowledgement: {send['status']}{why}")
    for m in view.get("messages", []):
        lines.append("")
        lines.append(
            f"--- {m['direction']} {m['kind']} {m['received_at']} from {m['from']} "
            f"[{m['thread_signal']}]"
        )
        if m["body_text"]:
            lines.append(m["body_text"])
        for a in m["attachments"]:
            refused = f" REFUSED: {a['refused_reason']}" if a["refused_reason"] else ""
            lines.append(f"  attachment {a['filename']} ({a['size']} bytes){refused}")
    return "\n".join(lines)


@main.group()
def rules() -> None:
    """Rules files."""


@rules.command(name="check")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def rules_check(path: Path) -> None:
    """Validate a rules/destinations YAML file; exit 1 with line numbers on errors."""
    from router.check import check_rules_file

    problems = check_rules_file(path)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        sys.exit(1)
    click.echo(f"{path}: ok")


def _check_rules(settings: Settings) -> None:
    """Fail at start, naming file and line, when the rules file (or its model) is invalid."""
    if settings.rules_file is None:
        return
    from config.rules import load_rules
    from workers.triage.classifier_loader import load_classifier

    try:
        load_classifier(load_rules(settings.rules_file))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


main.add_command(replay_command)
main.add_command(deliveries)
main.add_command(train_command)
main.add_command(evaluate_command)
tickets.add_command(set_status)
tickets.add_command(set_category)
tickets.add_command(reply_command)
