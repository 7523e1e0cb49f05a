"""The Grafana dashboard and the Prometheus alerts name only metrics that /metrics exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from channels.web import create_app
from config.settings import Settings
from ingest.health import beat
from ingest.models import RefusalCount, SlaBreach, utcnow
from tests.channels.console_support import seed
from tests.servers import http_server

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
METRIC = re.compile(r"\bomniroute_[a-z0-9_]+\b")


def exported(settings: Settings, sessions: sessionmaker[Session]) -> set[str]:
    """Every sample name /metrics exports over a store with some of everything in it."""
    ticket, _, _ = seed(settings, sessions)
    with sessions.begin() as session:
        beat(session, "worker", "host-a:1", "4 worker threads")
        session.add(RefusalCount(channel="email", reason="unknown recipient", count=1))
        session.add(SlaBreach(ticket_id=ticket, kind="first_response", due_at=utcnow()))
    app = create_app(sessions, queue_depth=lambda: {"omniroute": 0, "omniroute.XQ": 0})
    with http_server(app) as url:
        text = httpx.get(f"{url}/metrics").text
    return {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }


def alert_expressions() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus-alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_metric_the_alerts_and_dashboard_name_is_exported(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    # Given what a web process exports
    names = exported(settings, sessions)
    # When the alert rules and dashboard panels are read
    named = {
        m for expr in alert_expressions() + dashboard_expressions() for m in METRIC.findall(expr)
    }
    # Then each metric they name exists
    assert named, "no metric named at all"
    assert sorted(named - names) == []


def test_the_alerts_cover_what_an_operator_is_paged_for() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus-alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {
        "OmnirouteNoIntake",
        "OmnirouteDueWorkTooOld",
        "OmnirouteDeadDeliveries",
        "OmnirouteQuarantineSpike",
        "OmnirouteRoleWithoutHeartbeat",
    } <= alerts
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"info", "warning", "critical"}
            assert rule["annotations"]["summary"]
