"""Role heartbeats and the oldest due work, as /readyz, /metrics and `omniroute status` see them."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from channels.web import create_app
from config.settings import Settings
from ingest import outbox
from ingest.health import HeartbeatThread, beat, role_health
from ingest.models import OutboxEntry, RoleHeartbeat, utcnow
from tests.integration.support import wait_until
from tests.servers import http_server
from workers.cli import main


def test_a_beating_role_is_alive_and_a_silent_one_goes_stale(
    sessions: sessionmaker[Session],
) -> None:
    # Given a worker that beat just now and a scheduler silent for five minutes
    with sessions.begin() as session:
        beat(session, "worker", "host-a:11", "4 worker threads")
        beat(session, "scheduler", "host-b:12", "outbox relay")
        session.execute(
            update(RoleHeartbeat)
            .where(RoleHeartbeat.role == "scheduler")
            .values(beat_at=utcnow() - timedelta(minutes=5))
        )
    # When health is read
    with sessions() as session:
        health = {r.role: r for r in role_health(session)}
    # Then the worker is alive, the scheduler stale, and roles never seen are listed empty
    assert (
        health["worker"].alive == 1 and health["worker"].instances[0].serves == "4 worker threads"
    )
    assert health["scheduler"].alive == 0
    assert health["scheduler"].age_seconds is not None and health["scheduler"].age_seconds >= 300
    assert health["imap"].last_beat_at is None and health["imap"].instances == ()


def test_a_heartbeat_thread_beats_until_stopped_and_then_leaves(
    sessions: sessionmaker[Session],
) -> None:
    # Given one process's heartbeat thread for the two roles it runs
    roles = {"web": "http://127.0.0.1:8000", "scheduler": "outbox relay"}
    beats = HeartbeatThread(sessions, roles, interval=0.05)
    beats.start()

    def rows() -> list[RoleHeartbeat]:
        with sessions() as session:
            return list(session.scalars(select(RoleHeartbeat).order_by(RoleHeartbeat.role)))

    # Then it beats for each, saying what each serves, and again and again
    wait_until(lambda: len(rows()) == 2, "a heartbeat row per role")
    assert {row.role: row.serves for row in rows()} == roles
    first = min(row.beat_at for row in rows())
    wait_until(lambda: min(row.beat_at for row in rows()) > first, "a second beat of each")
    # And when stopped, both roles show no live instance at once
    beats.stop()
    assert rows() == []


def test_readyz_reports_each_roles_heartbeat_and_the_oldest_due_work(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        beat(session, "worker", "host-a:1", "4 worker threads")
        outbox.add_work(session, outbox.TRIAGE, ticket_id=1)
    with http_server(create_app(sessions)) as url:
        body = httpx.get(f"{url}/readyz").json()
    assert body["status"] == "ready"
    assert body["roles"]["worker"]["alive"] == 1
    assert body["roles"]["worker"]["instances"][0]["instance"] == "host-a:1"
    assert body["roles"]["scheduler"]["last_beat_at"] is None
    assert body["due_work"]["outbox:triage"]["count"] == 1


def test_status_prints_roles_and_due_work(
    sessions: sessionmaker[Session], settings: Settings, database_url: str
) -> None:
    with sessions.begin() as session:
        beat(session, "web", "host-a:1", "http://127.0.0.1:8000")
    env = {"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(settings.data_dir)}
    text = CliRunner().invoke(main, ["status"], env=env)
    as_json = CliRunner().invoke(main, ["status", "--json"], env=env)
    assert text.exit_code == 0, text.output
    assert "web        1 alive" in text.output
    assert "scheduler  no heartbeat" in text.output
    assert "inbound                none waiting" in text.output
    report = json.loads(as_json.output)
    assert report["roles"]["web"]["instances"][0]["serves"] == "http://127.0.0.1:8000"


def test_metrics_export_intake_attempts_health_and_due_work(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        beat(session, "worker", "host-a:1", "4 worker threads")
        session.add(OutboxEntry(actor="triage", payload={"ticket_id": 1}))
    app = create_app(sessions, queue_depth=lambda: {"omniroute": 3, "omniroute.XQ": 1})
    with http_server(app) as url:
        text = httpx.get(f"{url}/metrics").text
    assert 'omniroute_role_instances_alive{role="worker"} 1.0' in text
    assert 'omniroute_role_instances_alive{role="scheduler"} 0.0' in text
    assert 'omniroute_due_work{kind="outbox:triage"} 1.0' in text
    assert 'omniroute_queue_depth{queue="omniroute"} 3.0' in text
    assert 'omniroute_limiter_trips_total{limiter="automated_sends"} 0.0' in text
