"""``omniroute replay``: a dry run of new rules over stored tickets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.rules import load_rules_text
from config.settings import Settings
from ingest.models import DecisionRecord, Delivery, OutboxEntry, Ticket
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.workers.test_pipeline import send
from workers.cli import main
from workers.triage.classifier_loader import load_classifier
from workers.triage.replay import replay

NEW_RULES = """
format: 1
destinations:
  finance:
    type: webhook
    url: http://127.0.0.1:9/finance
    secret_env: OMNIROUTE_TEST_WEBHOOK_SECRET
categorize:
  rules:
    - name: login-is-technical
      when: {keywords: [log in]}
      category: technical
routes:
  - name: technical
    when: {category: technical}
    team: engineering
  - name: default
    team: support
    destinations: [finance]
"""


@pytest.fixture
def stored(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """Two tickets decided by the default rules: a login problem and a refund."""
    pipe = Pipeline(settings, sessions)
    try:
        send(sessions, bytes(customer_mail(subject="Cannot log in")))
        send(
            sessions,
            bytes(customer_mail(sender="bob@customer.test", subject="Refund", body="Refund me")),
        )
        pipe.drain()
    finally:
        pipe.close()


def counts(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    with sessions() as session:
        return tuple(  # type: ignore[return-value]
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (DecisionRecord, Delivery, OutboxEntry)
        )


def number_of(sessions: sessionmaker[Session], subject: str) -> int:
    """The ticket with ``subject``: numbers follow ingest order, not send order."""
    with sessions() as session:
        return session.execute(select(Ticket.id).where(Ticket.subject == subject)).scalar_one()


def test_replay_reports_what_would_change_and_writes_nothing(
    sessions: sessionmaker[Session], stored: None
) -> None:
    # Given two tickets decided under the default rules
    before = counts(sessions)
    with sessions() as session:
        categories = {
            row.subject: row.category
            for row in session.execute(select(Ticket.subject, Ticket.category))
        }
    assert categories == {"Cannot log in": "account", "Refund": "billing"}
    # When new rules are replayed over them, with their model as the CLI loads it
    new_rules = load_rules_text(NEW_RULES)
    report = replay(sessions, new_rules, classifier=load_classifier(new_rules))
    # Then the changes are counted with examples and reasons
    assert report.tickets == 2
    assert report.changed_tickets == 2
    # (the refund stays billing: the shipped model says so under the new rules too)
    assert report.counts == {"category": 1, "priority": 1, "team": 2, "destinations": 1}
    login_number = number_of(sessions, "Cannot log in")
    (login,) = [c for c in report.examples["category"] if c.ticket == login_number]
    assert (login.before, login.after) == ("account", "technical")
    assert "from rule 'login-is-technical'" in login.why
    assert report.examples["destinations"][0].after == "finance"
    # And nothing was written or planned
    assert counts(sessions) == before


def test_replay_since_a_date_skips_older_tickets(
    sessions: sessionmaker[Session], stored: None
) -> None:
    # Given the tickets were created today
    from datetime import UTC, datetime, timedelta

    # When replaying only tickets from tomorrow on
    report = replay(
        sessions,
        load_rules_text(NEW_RULES),
        since=datetime.now(UTC) + timedelta(days=1),
    )
    # Then none is replayed
    assert report.tickets == 0


def test_replay_cli_prints_the_summary(
    settings: Settings,
    sessions: sessionmaker[Session],
    database_url: str,
    stored: None,
    tmp_path: Path,
) -> None:
    # Given a new rules file
    path = tmp_path / "new.yaml"
    path.write_text(NEW_RULES, encoding="utf-8")
    env = {"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(settings.data_dir)}
    # When replayed from the command line, as text and as JSON
    text = CliRunner().invoke(main, ["replay", "--rules", str(path)], env=env)
    as_json = CliRunner().invoke(main, ["replay", "--rules", str(path), "--json"], env=env)
    # Then both tell the same story
    assert text.exit_code == 0, text.output
    assert "replayed 2 ticket(s); 2 would change" in text.output
    assert "category: 1 would change" in text.output
    assert f"#{number_of(sessions, 'Cannot log in')}: account -> technical" in text.output
    assert json.loads(as_json.output)["counts"]["team"] == 2


def test_replay_cli_reports_an_invalid_rules_file_with_its_line(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    # Given a rules file with an error on line 3
    path = tmp_path / "bad.yaml"
    path.write_text("format: 1\nroutes:\n  - name: Bad\n    team: x\n", encoding="utf-8")
    env = {"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(settings.data_dir)}
    # When replayed
    result = CliRunner().invoke(main, ["replay", "--rules", str(path)], env=env)
    # Then it exits 1 naming file and line
    assert result.exit_code == 1
    assert f"{path}:3" in result.output
