"""``omniroute replay --rules NEW.yaml [--since DATE]``: what new rules would change."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import click

from config.errors import ConfigError
from config.rules import load_rules
from config.settings import load_settings
from router.replay import render
from workers.cli.support import store
from workers.triage.classifier_loader import load_classifier
from workers.triage.replay import replay


@click.command(name="replay")
@click.option(
    "--rules",
    "rules_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The new rules file to try.",
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Only tickets created on or after this date (UTC).",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many tickets.")
@click.option("--examples", default=3, show_default=True, type=click.IntRange(0, 100))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def replay_command(
    rules_path: Path, since: datetime | None, limit: int | None, examples: int, as_json: bool
) -> None:
    """Dry run: decide stored tickets under new rules; print what would change."""
    try:
        settings = load_settings()
        rules = load_rules(rules_path)
        classifier = load_classifier(rules)
    except ConfigError as exc:
        click.echo(f"omniroute replay: {exc}", err=True)
        sys.exit(1)
    with store(settings) as sessions:
        report = replay(
            sessions,
            rules,
            since=since.replace(tzinfo=UTC) if since is not None else None,
            limit=limit,
            examples=examples,
            classifier=classifier,
        )
    click.echo(json.dumps(asdict(report), indent=2) if as_json else render(report))
