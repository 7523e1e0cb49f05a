"""Role processes as an ops team runs them: JSON logs, start-up lines, access lines,
heartbeats that `omniroute status` reads, and clear refusals of a split deployment."""

from __future__ import annotations

import json
import smtplib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.support import OMNIROUTE, Processes, clean_env, free_port, wait_until
from tests.integration.test_cli import omniroute
from tests.mail import customer_mail

pytestmark = pytest.mark.integration


def json_lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_web_and_worker_log_json_beat_and_show_in_status(
    database_url: str, broker_url: str, tmp_path: Path, processes: Processes
) -> None:
    # Given a web and a worker process with JSON logs, on the configured store and broker
    port = free_port()
    env = clean_env(
        OMNIROUTE_DATABASE_URL=database_url,
        OMNIROUTE_BROKER_URL=broker_url,
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
        OMNIROUTE_HTTP_PORT=str(port),
        OMNIROUTE_LOG_FORMAT="json",
        OMNIROUTE_LOG_LEVEL="info",
    )
    processes.start("web", [str(OMNIROUTE), "web"], env, tmp_path)
    processes.start("worker", [str(OMNIROUTE), "worker"], env, tmp_path)
    err = processes.log_dir

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, "the web role", context=processes.output)

    def both_beat() -> bool:
        result = omniroute("status", "--json", env=env, cwd=tmp_path)
        roles = json.loads(result.stdout)["roles"] if result.returncode == 0 else {}
        return all(roles.get(r, {}).get("alive") == 1 for r in ("web", "worker"))

    wait_until(both_beat, "web and worker heartbeats", context=processes.output)
    # Then every log line of both is a JSON object naming its role
    web_lines, worker_lines = json_lines(err / "web.err"), json_lines(err / "worker.err")
    assert {line["role"] for line in web_lines} == {"web"}
    assert {line["role"] for line in worker_lines} == {"worker"}
    # And each says at start what it serves and where its data lives
    messages = [line["message"] for line in web_lines]
    assert any(m.startswith("omniroute web starting: store ") for m in messages)
    assert any(m.startswith(f"web role serving http://127.0.0.1:{port}") for m in messages)
    assert any(
        line["message"].startswith("worker role serving 4 worker threads") for line in worker_lines
    )
    # And a request leaves an access line with its fields
    wait_until(
        lambda: any(line.get("http_path") == "/healthz" for line in json_lines(err / "web.err")),
        "an access line",
    )
    access = next(line for line in json_lines(err / "web.err") if line.get("http_path"))
    assert (access["http_method"], access["http_status"]) == ("GET", 200)
    assert access["logger"] == "omniroute.access"
    # And the status command prints the same in a terminal
    status = omniroute("status", env=env, cwd=tmp_path)
    assert "web        1 alive" in status.stdout and "worker     1 alive" in status.stdout
    # And with a server database and no blob URL, each role warns attachments are host-local
    host_local = [m for m in messages if "host-local" in m]
    assert bool(host_local) == database_url.startswith("postgresql")


def test_a_role_on_a_shared_database_without_a_signing_key_refuses_to_start(
    broker_url: str, tmp_path: Path
) -> None:
    # Given a deployment on a PostgreSQL server with no signing key set
    env = clean_env(
        OMNIROUTE_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/omniroute",
        OMNIROUTE_BROKER_URL=broker_url,
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
    )
    del env["OMNIROUTE_SIGNING_KEY"]
    # When a worker starts
    result = omniroute("worker", env=env, cwd=tmp_path)
    # Then it exits at once, naming the setting, and invents no key of its own
    assert result.returncode != 0
    assert "OMNIROUTE_SIGNING_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "secret.key").exists()


def test_run_beats_for_every_role_and_serves_the_console(
    tmp_path: Path, processes: Processes
) -> None:
    # Given `omniroute run` on the embedded default, in its default data dir (relative,
    # as a fresh checkout's `make run` has it), and an admin token for the console
    http_port, smtp_port = free_port(), free_port()
    data = tmp_path / ".omniroute"
    env = clean_env(OMNIROUTE_HTTP_PORT=str(http_port), OMNIROUTE_SMTP_PORT=str(smtp_port))
    assert omniroute("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    created = omniroute(
        "tokens", "create", "--name", "ops", "--scope", "admin", env=env, cwd=tmp_path
    )
    assert created.returncode == 0, created.stderr
    token = next(word for word in created.stdout.split() if word.startswith("omr_"))
    processes.start("run", [str(OMNIROUTE), "run"], env, tmp_path)
    base = f"http://127.0.0.1:{http_port}"

    def alive() -> bool:
        try:
            roles = httpx.get(f"{base}/readyz", timeout=2).json().get("roles", {})
        except (httpx.HTTPError, ValueError):
            return False
        return all(
            roles.get(r, {}).get("alive") == 1 for r in ("web", "smtp", "worker", "scheduler")
        )

    wait_until(alive, "heartbeats of every role in run", context=processes.output)
    # When a customer mails support
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        client.send_message(customer_mail(subject="Printer on fire"))
    # Then the acknowledgement lands in the blob store's sent-mail (the data dir here)
    wait_until(
        lambda: any((data / "sent-mail").glob("*.eml")),
        "a stored acknowledgement",
        context=processes.output,
    )
    # And an operator signed in with the admin token sees the ticket in the console
    with httpx.Client(base_url=base) as browser:
        form = browser.get("/console/login").text
        csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        browser.post("/console/login", data={"token": token, "csrf": csrf})
        tickets = browser.get("/console/tickets")
    assert tickets.status_code == 200
    assert "Printer on fire" in tickets.text
