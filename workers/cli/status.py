"""``omniroute status [--json]``: each role's last heartbeat and the oldest due work."""

from __future__ import annotations

import json
from typing import Any

import click

from ingest.db import read_only
from ingest.health_report import health_report
from workers.cli.support import command_settings, store


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the same as /readyz shows).")
def status(as_json: bool) -> None:
    """Each role's last heartbeat and the oldest due work."""
    settings = command_settings()
    with store(settings, statement_timeout_ms=10_000) as sessions, read_only(sessions) as session:
        report = health_report(session)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(render(report))


def render(report: dict[str, Any]) -> str:
    lines = ["Roles:"]
    for role, health in report["roles"].items():
        if health["last_beat_at"] is None:
            lines.append(f"  {role:<10} no heartbeat")
            continue
        state = f"{health['alive']} alive" if health["alive"] else "STALE"
        lines.append(
            f"  {role:<10} {state:<8} last beat {health['age_seconds']:.0f} s ago"
            f" ({health['last_beat_at']})"
        )
        lines.extend(
            f"    {i['instance']:<28} {'alive' if i['alive'] else 'stale':<6} "
            f"{i['age_seconds']:.0f} s ago  {i['serves']}"
            for i in health["instances"]
        )
    lines.append("Due work:")
    for kind, work in report["due_work"].items():
        if work["count"]:
            lines.append(
                f"  {kind:<22} {work['count']} waiting, oldest {work['oldest_age_seconds']:.0f} s"
            )
        else:
            lines.append(f"  {kind:<22} none waiting")
    return "\n".join(lines)
