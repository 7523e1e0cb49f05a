"""The ``omniroute`` command as an MTA pipe and an operator run it: exit codes and messages."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.models import InboundRecord, OutboxEntry
from tests.integration.support import OMNIROUTE, clean_env
from tests.mail import customer_mail

pytestmark = pytest.mark.integration

EX_TEMPFAIL = 75
# Nothing listens on port 1: connecting fails at once, as when the store is down.
STORE_DOWN_URL = "postgresql+psycopg://postgres@127.0.0.1:1/none"
CLI_TIMEOUT_SECONDS = 60


def omniroute(
    *args: str, env: dict[str, str], cwd: Path, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(OMNIROUTE), *args],
        env=env,
        cwd=cwd,
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )
    return result


def stored(sessions: sessionmaker[Session]) -> list[tuple[int, str, dict[str, object]]]:
    with sessions() as session:
        rows = session.execute(
            select(InboundRecord.id, InboundRecord.status, InboundRecord.envelope)
        ).all()
    return [(row.id, row.status, row.envelope) for row in rows]


def test_ingest_cli_exit_codes(
    sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    # Given a raw mail in a file, as an MTA pipe hands it over
    mail = tmp_path / "mail.eml"
    mail.write_bytes(bytes(customer_mail(subject="Piped in")))
    env = clean_env(OMNIROUTE_DATABASE_URL=database_url, OMNIROUTE_DATA_DIR=str(tmp_path / "data"))

    # When it is ingested
    first = omniroute("ingest", str(mail), env=env, cwd=tmp_path)
    # Then it exits 0, says so, and the raw mail and its ingest work are stored
    assert first.returncode == 0, first.stderr
    [(inbound_id, status, envelope)] = stored(sessions)
    assert first.stdout.strip() == f"accepted as inbound {inbound_id}"
    assert (status, envelope) == ("pending", {"source": "pipe"})
    with sessions() as session:
        [work] = session.execute(select(OutboxEntry)).scalars()
    assert (work.actor, work.payload) == ("ingest", {"inbound_id": inbound_id})

    # When the MTA delivers the same file again
    again = omniroute("ingest", str(mail), env=env, cwd=tmp_path)
    # Then it exits 0 as a duplicate and stores nothing new
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"duplicate of inbound {inbound_id}"
    assert len(stored(sessions)) == 1

    # When the store cannot be reached
    down = omniroute(
        "ingest", str(mail), env={**env, "OMNIROUTE_DATABASE_URL": STORE_DOWN_URL}, cwd=tmp_path
    )
    # Then it exits 75 so the MTA retries, with a clear message on stderr
    assert down.returncode == EX_TEMPFAIL, down.stderr
    assert "store unavailable, try again later" in down.stderr
    assert "Traceback" not in down.stderr
    assert down.stdout == ""


def test_ingest_cli_reads_the_mail_from_stdin(
    sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    # Given a raw mail on standard input
    raw = bytes(customer_mail(subject="From a pipe"))
    env = clean_env(OMNIROUTE_DATABASE_URL=database_url, OMNIROUTE_DATA_DIR=str(tmp_path / "data"))
    # When it is ingested from "-"
    result = omniroute("ingest", "-", env=env, cwd=tmp_path, stdin=raw)
    # Then it is accepted and stored byte for byte
    assert result.returncode == 0, result.stderr
    with sessions() as session:
        [record] = session.execute(select(InboundRecord)).scalars()
    assert result.stdout.strip() == f"accepted as inbound {record.id}"
    assert record.raw == raw


def test_role_without_broker_url_fails_with_a_clear_message(
    database_url: str, tmp_path: Path
) -> None:
    # Given no broker URL in the environment
    env = clean_env(OMNIROUTE_DATABASE_URL=database_url, OMNIROUTE_DATA_DIR=str(tmp_path / "data"))
    assert "OMNIROUTE_BROKER_URL" not in env
    # When a worker is started
    result = omniroute("worker", env=env, cwd=tmp_path)
    # Then it refuses to start and names the missing setting
    assert result.returncode != 0
    assert "OMNIROUTE_BROKER_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_fails_at_start_naming_the_key(database_url: str, tmp_path: Path) -> None:
    # Given an SMTP port that is not a number
    env = clean_env(
        OMNIROUTE_DATABASE_URL=database_url,
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
        OMNIROUTE_SMTP_PORT="notaport",
    )
    # When any command starts
    result = omniroute("tickets", "list", env=env, cwd=tmp_path)
    # Then it fails before doing anything, naming the key
    assert result.returncode != 0
    assert "OMNIROUTE_SMTP_PORT" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_bad_rules_file_fails_at_start_naming_the_file_and_line(
    database_url: str, broker_url: str, tmp_path: Path
) -> None:
    # Given a rules file whose route has a misspelt key on line 5
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "format: 1\n"
        "routes:\n"
        "  - name: default\n"
        "    team: support\n"
        "    destination: [helpdesk]\n"
    )  # fmt: skip
    env = clean_env(
        OMNIROUTE_DATABASE_URL=database_url,
        OMNIROUTE_BROKER_URL=broker_url,
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
        OMNIROUTE_RULES_FILE=str(rules),
    )
    # When a worker starts with it
    result = omniroute("worker", env=env, cwd=tmp_path)
    # Then it exits at once, naming the file and the line
    assert result.returncode != 0
    assert f"{rules}:5: routes[0].destination: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["status"], ["tickets", "list"], ["tokens", "list"]])
def test_any_command_with_the_store_down_exits_75_in_one_line(
    command: list[str], tmp_path: Path
) -> None:
    # Given a store that cannot be reached
    env = clean_env(
        OMNIROUTE_DATABASE_URL=STORE_DOWN_URL, OMNIROUTE_DATA_DIR=str(tmp_path / "data")
    )
    # When an operator's command (or a cron job) runs
    done = omniroute(*command, env=env, cwd=tmp_path)
    # Then it says so in one line and exits 75, so a script knows to try again
    assert done.returncode == EX_TEMPFAIL, done.stderr
    assert "omniroute: store unavailable, try again later:" in done.stderr
    assert "Traceback" not in done.stderr
