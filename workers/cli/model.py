"""``omniroute model list|use|retrain``: the category models in the store and which is live.

    omniroute model list [--json]        every version, its figures, which one is live
    omniroute model retrain              train a candidate now; promote it only if better
    omniroute model use VERSION          make a stored version live (a rollback)
    omniroute model use builtin          back to the model shipped with omniroute

``retrain`` is what ``OMNIROUTE_RETRAIN=weekly`` runs on the scheduler, for cron.
``omniroute replay --model VERSION`` shows what a version would change first. The
live model applies when the rules name none (``categorize.classifier``).
"""

from __future__ import annotations

import json
from typing import Any

import click

from ingest import model_versions
from ingest.db import unit_of_work
from ingest.models import ModelEvent, ModelVersion
from workers.cli.support import command_settings, store


@click.group(name="model")
def model_group() -> None:
    """The category models trained from the store, and which one triage uses."""


@model_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--events", default=10, show_default=True, type=click.IntRange(0, 1000))
def model_list(as_json: bool, events: int) -> None:
    """Every stored version with its held-apart figures; the live one is marked."""
    with store(command_settings()) as sessions, sessions() as session:
        versions = [_version(row) for row in model_versions.list_versions(session)]
        history = [_event(row) for row in model_versions.model_events(session, events)]
    live = next((v["version"] for v in versions if v["status"] == model_versions.LIVE), None)
    listed = [_builtin(live is None), *versions]
    in_force = live or model_versions.BUILTIN
    document = {"live": in_force, "versions": listed, "events": history}
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(f"{'':2}{'version':<13}{'status':<10}{'trained':<18}{'rows':>6}  held-apart figures")
    for v in listed:
        mark = "* " if v["version"] == in_force else "  "
        click.echo(
            f"{mark}{v['version']:<13}{v['status']:<10}{v['trained_at'] or '-':<18}"
            f"{v['training_rows'] or '-':>6}  {_said(v['figures'])}"
        )
    for e in history:
        click.echo(f"{e['at']}  {e['action']:<9} {e['version']:<13} by {e['actor']}: {e['reason']}")


@model_group.command(name="use")
@click.argument("version")
@click.option("--by", "actor", default="an operator", show_default=True, help="Who chose it.")
@click.option("--reason", default="chosen by hand", show_default=True)
def model_use(version: str, actor: str, reason: str) -> None:
    """Make VERSION (a stored version, or builtin) the model triage uses."""
    with store(command_settings()) as sessions:
        try:
            with unit_of_work(sessions) as session:
                model_versions.make_live(
                    session, version, action=model_versions.USED, reason=reason, actor=actor
                )
                live = model_versions.live_name(session) or model_versions.BUILTIN
        except model_versions.UnknownVersion as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"model in force: {live} (workers pick it up within seconds)")


@model_group.command(name="retrain")
@click.option("--by", "actor", default="cli", show_default=True, help="Recorded as the actor.")
def model_retrain(actor: str) -> None:
    """Train a candidate from corrected tickets; promote it only if it beats the live model."""
    from workers.triage.retrain import retrain

    with store(command_settings()) as sessions:
        result = retrain(sessions, actor=actor)
    version = f" {result.version}" if result.version else ""
    click.echo(f"candidate{version}: {result.outcome}: {result.reason}")
    click.echo(f"model in force was {result.in_force}")


def _version(row: ModelVersion) -> dict[str, Any]:
    return {
        "version": row.version,
        "status": row.status,
        "trained_at": f"{row.trained_at:%Y-%m-%d %H:%M}",
        "training_rows": row.training_rows,
        "labels": list(row.labels),
        "figures": dict(row.figures),
    }


def _builtin(live: bool) -> dict[str, Any]:
    return {
        "version": model_versions.BUILTIN,
        "status": model_versions.LIVE if live else "shipped",
        "trained_at": None,
        "training_rows": None,
        "labels": [],
        "figures": {},
    }


def _event(row: ModelEvent) -> dict[str, Any]:
    return {
        "at": f"{row.at:%Y-%m-%d %H:%M}",
        "version": row.version,
        "action": row.action,
        "actor": row.actor,
        "reason": row.reason,
    }


def _said(figures: dict[str, Any]) -> str:
    held = figures.get("held_apart")
    if not held:
        return "-"
    force = figures.get("in_force", {})
    return (
        f"macro-F1 {held['macro_f1']:.3f} acc {held['accuracy']:.3f} on {held['rows']} "
        f"(then in force: {force.get('version', '?')} {force.get('macro_f1', 0):.3f})"
    )
