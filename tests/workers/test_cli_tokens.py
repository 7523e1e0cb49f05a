"""``omniroute tokens create|list|revoke``, run as an operator runs them, against the real app."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from channels.web import create_app
from tests.integration.support import OMNIROUTE, clean_env
from tests.servers import http_server
from tests.tokens import bearer

pytestmark = pytest.mark.integration

CLI_TIMEOUT_SECONDS = 60
EX_TEMPFAIL = 75


@pytest.fixture
def env(database_url: str, tmp_path: Path, sessions: sessionmaker[Session]) -> dict[str, str]:
    # ``sessions`` empties the tables first.
    return clean_env(OMNIROUTE_DATABASE_URL=database_url, OMNIROUTE_DATA_DIR=str(tmp_path / "data"))


def omniroute(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OMNIROUTE), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )


def create(env: dict[str, str], name: str, *scopes: str) -> str:
    args = [a for scope in scopes for a in ("--scope", scope)]
    result = omniroute("tokens", "create", "--name", name, *args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]


def test_create_prints_the_token_alone_on_its_last_line_and_it_works(
    env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    # When an operator creates a token for alice
    result = omniroute("tokens", "create", "--name", "alice", "--scope", "tickets:read", env=env)
    # Then it says what it made, and the last line is the token and nothing else
    assert result.returncode == 0, result.stderr
    *said, token = result.stdout.splitlines()
    assert token.startswith("omr_") and " " not in token
    assert "created token 'alice'" in said[0] and "tickets:read" in said[0]
    # And the token opens the ticket API
    with http_server(create_app(sessions)) as url:
        response = httpx.get(f"{url}/api/tickets", headers=bearer(token))
    assert response.status_code == 200


def test_list_shows_every_token_without_its_secret(env: dict[str, str]) -> None:
    # Given two tokens
    alice = create(env, "alice", "tickets:read", "tickets:reply")
    ops = create(env, "ops", "admin")
    # When they are listed as JSON and as text
    listed = omniroute("tokens", "list", "--json", env=env)
    text = omniroute("tokens", "list", env=env)
    # Then both show names, scopes and state, and neither shows a secret or a hash
    assert listed.returncode == 0 and text.returncode == 0
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["scopes"], r["revoked_at"]) for r in rows] == [
        ("alice", ["tickets:read", "tickets:reply"], None),
        ("ops", ["admin"], None),
    ]
    assert set(rows[0]) == {
        "id",
        "name",
        "scopes",
        "authors",
        "created_at",
        "last_used_at",
        "revoked_at",
    }
    for output in (listed.stdout, text.stdout):
        for token in (alice, ops):
            secret = token.split("_", 2)[2]
            assert len(secret) >= 40 and secret not in output
    assert "alice" in text.stdout and "active" in text.stdout


def test_revoke_by_name_or_id_stops_the_token_at_once(
    env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    # Given two tokens that work
    alice = create(env, "alice", "tickets:read")
    bob = create(env, "bob", "tickets:read")
    bob_id = bob.split("_")[1]
    with http_server(create_app(sessions)) as url:
        assert httpx.get(f"{url}/api/tickets", headers=bearer(alice)).status_code == 200
        # When alice's is revoked by name and bob's by id
        by_name = omniroute("tokens", "revoke", "alice", env=env)
        by_id = omniroute("tokens", "revoke", bob_id, env=env)
        # Then both say so, and neither token works any more
        assert by_name.returncode == 0, by_name.stderr
        assert "revoked token 'alice'" in by_name.stdout
        assert f"revoked token 'bob' (id {bob_id})" in by_id.stdout
        for token in (alice, bob):
            response = httpx.get(f"{url}/api/tickets", headers=bearer(token))
            assert response.status_code == 401
            assert response.json() == {"error": "token revoked"}
    # And the list shows when they were revoked
    rows = json.loads(omniroute("tokens", "list", "--json", env=env).stdout)
    assert all(r["revoked_at"] for r in rows)


def test_bad_requests_are_refused_with_a_reason(env: dict[str, str]) -> None:
    create(env, "alice", "tickets:read")
    duplicate = omniroute("tokens", "create", "--name", "alice", "--scope", "admin", env=env)
    unknown_scope = omniroute("tokens", "create", "--name", "x", "--scope", "everything", env=env)
    unknown_token = omniroute("tokens", "revoke", "nobody", env=env)
    assert duplicate.returncode == 1 and "exists already" in duplicate.stderr
    assert unknown_scope.returncode == 2 and "everything" in unknown_scope.stderr
    assert unknown_token.returncode == 1 and "no token named or with id 'nobody'" in (
        unknown_token.stderr
    )
    # And nothing was created by them
    rows = json.loads(omniroute("tokens", "list", "--json", env=env).stdout)
    assert [r["name"] for r in rows] == ["alice"]


def test_tokens_exit_75_when_the_store_is_down(tmp_path: Path) -> None:
    env = clean_env(
        OMNIROUTE_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/none",
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
    )
    result = omniroute("tokens", "create", "--name", "alice", "--scope", "admin", env=env)
    assert result.returncode == EX_TEMPFAIL
    assert "store unavailable, try again later" in result.stderr
    assert "omr_" not in result.stdout
