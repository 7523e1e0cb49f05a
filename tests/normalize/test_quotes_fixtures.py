"""Specification of reply stripping against real-shaped replies from each client and language.

Every ``tests/fixtures/email/replies/<client>_<lang>[_<variant>].txt`` is a
plain-text body as the client sends it (CRLF where the client writes CRLF, NBSP
where it puts one); the sidecar ``<name>.expected.txt`` holds what the sender
just wrote.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from normalize.email import parse_email
from normalize.quotes import strip_quotes

REPLIES = Path(__file__).resolve().parents[1] / "fixtures" / "email" / "replies"
FIXTURES = sorted(p for p in REPLIES.glob("*.txt") if not p.name.endswith(".expected.txt"))


def _body(path: Path) -> str:
    # Bytes, not read_text(): universal newlines would hide the CRLF variants.
    return path.read_bytes().decode("utf-8")


def _expected(path: Path) -> str:
    return _body(path.with_name(path.stem + ".expected.txt")).removesuffix("\n")


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_new_text_is_separated_from_quote_and_signature(path: Path) -> None:
    # Given a reply body as its client writes it
    body = _body(path)
    # When stripped
    new_text = strip_quotes(body)
    # Then only what the sender just wrote remains
    assert new_text == _expected(path)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_parsed_reply_has_new_text_in_body_text_and_everything_in_body_full(path: Path) -> None:
    # Given the reply sent as a UTF-8 text/plain message
    body = _body(path)
    raw = (
        b"From: customer@example.org\r\nMessage-ID: <r@example.org>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ) + body.encode("utf-8")
    # When parsed
    msg = parse_email(raw).message
    # Then body_text is the new text (lines right-trimmed, as the parser keeps them)
    expected = "\n".join(line.rstrip() for line in _expected(path).split("\n"))
    assert msg.body_text == expected
    # And body_full still holds the quoted history
    assert len(msg.body_full) > len(msg.body_text) or msg.body_text == msg.body_full


def test_fixture_set_covers_every_client_and_language() -> None:
    # Given the fixture names
    names = {p.stem for p in FIXTURES}
    clients = {name.split("_")[0] for name in names}
    languages = {name.split("_")[1] for name in names}
    # Then every client and every language named in issue 3 has replies
    assert {"gmail", "outlook", "outlookweb", "outlookios", "outlookandroid"} <= clients
    assert {"applemail", "thunderbird", "iphone"} <= clients
    assert {"en", "de", "fr", "es", "it", "nl", "pt", "pl"} <= languages
    assert {"sv", "da", "no", "fi", "ru", "zh", "ja", "ko"} <= languages
    assert len(FIXTURES) >= 30


def test_fixture_set_keeps_its_crlf_and_nbsp_variants() -> None:
    # Given the raw fixture bytes (a checkout must not normalize them away)
    bodies = [_body(path) for path in FIXTURES]
    # Then some replies use CRLF line endings and some contain no-break spaces
    assert sum("\r\n" in body for body in bodies) >= 5
    assert sum("\u00a0" in body for body in bodies) >= 3
