"""The edge's fast MAIL/RCPT path parsing gives what aiosmtpd's own parser gives."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.smtp import EdgeSMTP

ATEXT = "abcxyzABC019!#$%&'*+/=?^_`{|}~-"
# Pieces that make paths plain, unusual or broken.
PIECES = st.sampled_from(
    [*ATEXT, ".", "@", "<", ">", " ", "\t", '"', "(", ")", "[", "]", ":", ",", "é", "\\"]
)


def aiosmtpd_parse(arg: str) -> tuple[str | None, str | None]:
    return SMTP._getaddr(SMTP.__new__(SMTP), arg)


def edge_parse(arg: str, local_part_limit: int = 0) -> tuple[str | None, str | None]:
    edge = EdgeSMTP.__new__(EdgeSMTP)
    edge.local_part_limit = local_part_limit
    return edge._getaddr(arg)


@pytest.mark.parametrize(
    "arg",
    [
        "<jane@example.com>",
        "<jane.doe+tag@mail.example.co.uk> SIZE=2048 BODY=8BITMIME",
        "<a@b>  SIZE=1 ",
        "<a@b>\tSMTPUTF8",
        "<a@b>SIZE=1",
        "<a@b> SIZE=1 (comment)",
        "<>",
        "",
        "jane@example.com",
        '<"jane doe"@example.com>',
        "<jane@[192.0.2.1]>",
        "<@relay.example:jane@example.com>",
        "<a..b@example.com>",
        "<.a@example.com>",
        "<jané@example.com>",
        "<jane@example.com",
    ],
)
def test_paths_parse_as_aiosmtpd_parses_them(arg: str) -> None:
    # Given a MAIL FROM / RCPT TO argument, plain or not
    # When the edge parses it
    # Then the address and parameters are aiosmtpd's
    assert edge_parse(arg) == aiosmtpd_parse(arg)


@settings(max_examples=300, deadline=None)
@given(
    local=st.text(PIECES, min_size=0, max_size=12),
    domain=st.text(PIECES, min_size=0, max_size=12),
    params=st.text(PIECES, max_size=12),
)
def test_any_argument_parses_as_aiosmtpd_parses_it(local: str, domain: str, params: str) -> None:
    # Given an argument built from plain and troublesome pieces
    arg = f"<{local}@{domain}>{params}"
    # When the edge parses it
    # Then it agrees with aiosmtpd (the fast path only takes what it parses the same;
    # the header parser even fails on some malformed paths, and does so on both)
    assert outcome(edge_parse, arg) == outcome(aiosmtpd_parse, arg)


def outcome(parse: Callable[[str], tuple[str | None, str | None]], arg: str) -> object:
    try:
        return parse(arg)
    except Exception as exc:
        return type(exc)


def test_local_part_limit_still_applies_on_the_fast_path() -> None:
    # Given a server limiting local parts to 4 characters
    # When a plain path has a longer one
    # Then it is refused as aiosmtpd refuses it
    assert edge_parse("<janedoe@example.com>", local_part_limit=4) == (None, None)
    assert edge_parse("<jane@example.com>", local_part_limit=4) == ("jane@example.com", "")
