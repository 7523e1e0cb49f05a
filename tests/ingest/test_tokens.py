"""API tokens in the store: created with scopes, checked, revoked, never kept in clear."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ingest.models import ApiToken, Base, utcnow
from ingest.tokens import (
    ADMIN,
    METRICS,
    READ,
    REPLY,
    Caller,
    TokenError,
    authenticate,
    create_token,
    list_tokens,
    redact,
    revoke_token,
)
from tests.tokens import issue, revoke


def check(sessions: sessionmaker[Session], token: str) -> tuple[Caller | None, str]:
    with sessions.begin() as session:
        return authenticate(session, token)


def every_stored_value(sessions: sessionmaker[Session]) -> str:
    """Every value of every row of every table, as text."""
    with sessions() as session:
        return "\n".join(
            repr(tuple(row))
            for table in Base.metadata.sorted_tables
            for row in session.execute(select(table)).all()
        )


def test_a_created_token_authenticates_as_its_name_with_its_scopes(
    sessions: sessionmaker[Session],
) -> None:
    # Given a token for alice that may read tickets
    token = issue(sessions, "alice", [READ])
    # When it is presented
    caller, reason = check(sessions, token)
    # Then it stands for alice, with that scope and no other
    assert reason == ""
    assert caller is not None and caller.name == "alice"
    assert caller.allows(READ) and not caller.allows(REPLY)


def test_admin_implies_every_scope(sessions: sessionmaker[Session]) -> None:
    caller, _ = check(sessions, issue(sessions, "ops", [ADMIN]))
    assert caller is not None
    assert all(caller.allows(s) for s in (READ, REPLY, METRICS, ADMIN))


def test_the_secret_is_never_stored_in_clear(sessions: sessionmaker[Session]) -> None:
    # Given a new token
    token = issue(sessions, "alice")
    secret = token.split("_", 2)[2]
    # When everything in the store is read
    stored = every_stored_value(sessions)
    # Then neither the token nor its secret is in it, only its public key id
    assert "alice" in stored
    assert secret not in stored and token not in stored
    with sessions() as session:
        row = session.execute(select(ApiToken)).scalar_one()
    assert token.startswith(f"omr_{row.key_id}_")
    assert len(row.secret_hash) == 64 and row.secret_hash != secret


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # right key id, wrong secret
        lambda t: "omr_000000000000_" + t.split("_", 2)[2],  # unknown key id
        lambda t: "not-a-token",
        lambda t: t + "x",
    ],
)
def test_a_wrong_token_is_invalid(
    sessions: sessionmaker[Session], tamper: Callable[[str], str]
) -> None:
    token = issue(sessions, "alice")
    caller, reason = check(sessions, tamper(token))
    assert (caller, reason) == (None, "invalid token")


def test_a_revoked_token_is_refused_and_says_so_only_to_its_holder(
    sessions: sessionmaker[Session],
) -> None:
    # Given alice's token, revoked
    token = issue(sessions, "alice")
    revoke(sessions, "alice")
    # When it is presented, then it is refused as revoked
    assert check(sessions, token) == (None, "token revoked")
    # And a wrong secret with its key id is just invalid
    assert check(sessions, token[:-1] + ("A" if token[-1] != "A" else "B")) == (
        None,
        "invalid token",
    )


def test_use_is_recorded_at_most_once_a_minute(sessions: sessionmaker[Session]) -> None:
    # Given a token never used
    token = issue(sessions, "alice")
    # When it is used twice in a row
    check(sessions, token)
    with sessions() as session:
        first = session.execute(select(ApiToken.last_used_at)).scalar_one()
    check(sessions, token)
    with sessions() as session:
        second = session.execute(select(ApiToken.last_used_at)).scalar_one()
    # Then the first use is recorded and the second, moments later, leaves it
    assert first is not None and second == first
    # And a use after a minute moves it
    with sessions.begin() as session:
        session.execute(update(ApiToken).values(last_used_at=utcnow() - timedelta(minutes=2)))
    check(sessions, token)
    with sessions() as session:
        third = session.execute(select(ApiToken.last_used_at)).scalar_one()
    assert third is not None and third > first - timedelta(minutes=2)
    assert utcnow() - third < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("name", "scopes", "authors", "problem"),
    [
        ("alice", [], [], "at least one scope"),
        ("alice", ["tickets:write"], [], "unknown scope 'tickets:write'"),
        ("alice\r\nx", [READ], [], "name: must not contain control"),
        ("", [READ], [], "name: must not be empty"),
        ("x" * 81, [READ], [], "at most 80 characters"),
        ("bridge", [REPLY], ["<evil@x.test>"], "author '<evil@x.test>': must not contain angle"),
    ],
)
def test_a_token_is_not_created_from_bad_input(
    sessions: sessionmaker[Session],
    name: str,
    scopes: list[str],
    authors: list[str],
    problem: str,
) -> None:
    with pytest.raises(TokenError, match=problem), sessions.begin() as session:
        create_token(session, name, scopes, authors)
    with sessions() as session:
        assert list_tokens(session) == []


def test_names_are_never_reused_even_after_revoking(sessions: sessionmaker[Session]) -> None:
    issue(sessions, "alice")
    revoke(sessions, "alice")
    with pytest.raises(TokenError, match="exists already"), sessions.begin() as session:
        create_token(session, "alice", [READ])


def test_revoke_finds_a_token_by_name_or_key_id(sessions: sessionmaker[Session]) -> None:
    issue(sessions, "alice")
    issue(sessions, "bob")
    with sessions.begin() as session:
        key_id = session.execute(select(ApiToken.key_id).where(ApiToken.name == "bob")).scalar_one()
        assert revoke_token(session, key_id) is not None
        assert revoke_token(session, "nobody") is None
    with sessions() as session:
        states = {row["name"]: row["revoked_at"] is not None for row in list_tokens(session)}
    assert states == {"alice": False, "bob": True}


def test_logs_see_the_key_id_never_the_secret(sessions: sessionmaker[Session]) -> None:
    token = issue(sessions, "alice")
    shown = redact(token)
    assert token.split("_", 2)[2] not in shown
    assert shown.startswith(token[:16])
