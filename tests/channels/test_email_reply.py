"""The subject of an agent's reply: tagged once, one ``Re:``."""

from __future__ import annotations

import pytest

from channels.email_reply import reply_subject


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Cannot log in", "[Ticket #7] Re: Cannot log in"),
        ("RE: Cannot log in", "[Ticket #7] Re: Cannot log in"),
        ("Re: [Ticket #7] Cannot log in", "Re: [Ticket #7] Cannot log in"),
        ("   ", "[Ticket #7] Re: your message"),
    ],
)
def test_the_reply_subject_carries_the_tag_once(subject: str, expected: str) -> None:
    assert reply_subject(7, subject) == expected
