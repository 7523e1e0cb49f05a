"""Who may sign a reply, and which names are fit for a ``From`` header."""

from __future__ import annotations

import pytest

from ingest.reply_author import (
    MAX_AUTHOR_CHARS,
    AuthorNotAllowed,
    UnsafeAuthor,
    author_problem,
    checked_author,
    token_author,
)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("alice\r\nBcc: x@evil.test", "control characters or line breaks"),
        ("alice\nbob", "control characters or line breaks"),
        ("tab\there", "control characters or line breaks"),
        ("evil\u202egnp.exe", "control characters or line breaks"),
        ("Bank <security@bank.test>", "angle brackets"),
        ('alice" <x@evil.test>', "quotes"),
        ("back\\slash", "backslashes"),
        ("security@bank.test", "a name, not an address"),
        ("   ", "must not be empty"),
        ("x" * (MAX_AUTHOR_CHARS + 1), f"at most {MAX_AUTHOR_CHARS} characters"),
    ],
)
def test_names_unfit_for_a_mail_header_are_refused(name: str, problem: str) -> None:
    assert problem in (author_problem(name) or "")
    with pytest.raises(UnsafeAuthor, match=problem):
        checked_author(name)


@pytest.mark.parametrize("name", ["alice", "Renée O'Brien", "Support team (EU)", "x" * 120])
def test_ordinary_names_are_kept(name: str) -> None:
    assert author_problem(name) is None
    assert checked_author(f"  {name} ") == name


def test_a_token_without_a_list_signs_with_its_own_name() -> None:
    # Given a token named alice that lists no authors
    # When a reply names no author, or names alice, then it is signed alice
    assert token_author(None, "alice", ()) == "alice"
    assert token_author("alice", "alice", ()) == "alice"
    # And any other name is not allowed
    with pytest.raises(AuthorNotAllowed, match="may not sign as 'attacker'"):
        token_author("attacker", "alice", ())


def test_a_token_with_a_list_signs_only_with_a_listed_name_it_names() -> None:
    # Given a desk bridge token that may sign for alice and bob
    allowed = ("alice", "bob")
    # Then each of them may sign, nobody else, and a reply must say who
    assert token_author("bob", "desk-bridge", allowed) == "bob"
    with pytest.raises(AuthorNotAllowed, match="it may: 'alice', 'bob'"):
        token_author("desk-bridge", "desk-bridge", allowed)
    with pytest.raises(UnsafeAuthor, match="required for this token"):
        token_author(None, "desk-bridge", allowed)


def test_an_unsafe_name_is_refused_before_the_list_is_looked_at() -> None:
    with pytest.raises(UnsafeAuthor, match="line breaks"):
        token_author("alice\r\nBcc: x@evil.test", "alice", ("alice\r\nBcc: x@evil.test",))
