"""``omniroute replay --rules NEW.yaml [--model VERSION] [--since DATE]``: what would change.

With ``--rules`` the new rules decide (with the model they name, else the one in
force); with ``--model`` a stored model version (or ``builtin``) decides as if it
were live, under the given rules or the rules in force: what promoting it would change.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from config.errors import ConfigError
from config.rules import RuleSet, default_rules, load_rules
from config.settings import Settings, load_settings
from ingest import model_versions
from router.replay import render
from workers.cli.support import Sessions, store
from workers.triage.classifier_loader import load_classifier
from workers.triage.live_model import classifier_for
from workers.triage.replay import replay
from workers.triage.rules_source import LoadedRules

if TYPE_CHECKING:
    from router.classifier.model import CategoryModel


@click.command(name="replay")
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The new rules file to try (default: the rules in force).",
)
@click.option(
    "--model",
    "model_version",
    help="A stored model version (or builtin) to try as if it were live.",
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
    *,
    rules_path: Path | None,
    model_version: str | None,
    since: datetime | None,
    limit: int | None,
    examples: int,
    as_json: bool,
) -> None:
    """Dry run: decide stored tickets under new rules or another model; print what would
    change."""
    if rules_path is None and model_version is None:
        raise click.UsageError("give --rules FILE, --model VERSION, or both")
    try:
        settings = load_settings()
        rules = load_rules(rules_path) if rules_path is not None else _rules_in_force(settings)
        loaded = LoadedRules(rules, load_classifier(rules))
    except ConfigError as exc:
        click.echo(f"omniroute replay: {exc}", err=True)
        sys.exit(1)
    if model_version is not None and rules.categorize.classifier is not None:
        click.echo(
            f"note: {rules.source} names its own model, which stays in force over any "
            "stored one; the replay shows no change from --model",
            err=True,
        )
    with store(settings) as sessions:
        try:
            stored = _stored_model(sessions, model_version)
        except model_versions.UnknownVersion as exc:
            raise click.ClickException(str(exc)) from None
        classifier = classifier_for(loaded, stored)
        report = replay(
            sessions,
            rules,
            since=since.replace(tzinfo=UTC) if since is not None else None,
            limit=limit,
            examples=examples,
            classifier=classifier,
        )
    click.echo(json.dumps(asdict(report), indent=2) if as_json else render(report))


def _rules_in_force(settings: Settings) -> RuleSet:
    return load_rules(settings.rules_file) if settings.rules_file else default_rules()


def _stored_model(sessions: Sessions, version: str | None) -> CategoryModel | None:
    """The stored model to decide with: ``version``, else the live one (None: builtin)."""
    from router.classifier.artifact import load_artifact
    from workers.triage.classifier_loader import builtin_model

    with sessions() as session:
        if version == model_versions.BUILTIN:
            return builtin_model()
        row = (
            model_versions.find_version(session, version)
            if version is not None
            else model_versions.live_version(session)
        )
        return load_artifact(row.artifact) if row is not None else None
