"""The ``omniroute`` command line, invoked in-process with click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.workers.test_pipeline import send
from workers.cli import main


@pytest.fixture
def env(settings: Settings, database_url: str) -> dict[str, str]:
    return {"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(settings.data_dir)}


@pytest.fixture
def one_ticket(settings: Settings, sessions: sessionmaker[Session]) -> None:
    pipe = Pipeline(settings, sessions)
    try:
        send(sessions, bytes(customer_mail(subject="Refund for invoice 42")))
        pipe.drain()
    finally:
        pipe.close()


def test_tickets_show_json_has_the_documented_fields(env: dict[str, str], one_ticket: None) -> None:
    result = CliRunner().invoke(main, ["tickets", "show", "1", "--json"], env=env)
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    for key in (
        "number",
        "status",
        "channel",
        "customer",
        "subject",
        "category",
        "priority",
        "team",
        "messages",
        "decision",
        "threading",
        "deliveries",
    ):
        assert key in view
    assert view["customer"] == {"id": 1, "name": "Jane Doe", "email": "jane@customer.test"}
    message = view["messages"][0]
    for key in ("direction", "channel", "external_id", "body_text", "received_at"):
        assert key in message
    assert view["decision"]["reasons"]
    assert view["threading"]["signal"] == "new-ticket"


def test_tickets_list_json_omits_messages(env: dict[str, str], one_ticket: None) -> None:
    result = CliRunner().invoke(main, ["tickets", "list", "--json"], env=env)
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert row["number"] == 1
    assert "messages" not in row


def test_tickets_show_prints_reasons_and_acknowledgement(
    env: dict[str, str], one_ticket: None
) -> None:
    result = CliRunner().invoke(main, ["tickets", "show", "1"], env=env)
    assert result.exit_code == 0, result.output
    assert "Ticket #1" in result.output
    assert "billing-keywords" in result.output
    assert "Acknowledgement: sent" in result.output


def test_tickets_show_unknown_number_fails(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["tickets", "show", "42"], env=env)
    assert result.exit_code == 1
    assert "no ticket #42" in result.output


def test_rules_check_reports_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(
        "format: 1\nroutes:\n  - name: default\n    team: support\n    destinations: [nowhere]\n"
    )
    result = CliRunner().invoke(main, ["rules", "check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:5" in result.output
    assert "nowhere" in result.output


def test_rules_check_accepts_the_example(tmp_path: Path) -> None:
    example = Path(__file__).parents[1] / "fixtures" / "rules" / "example.yaml"
    result = CliRunner().invoke(main, ["rules", "check", str(example)])
    assert result.exit_code == 0, result.output
