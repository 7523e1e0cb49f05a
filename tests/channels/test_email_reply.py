"""An agent's reply mail: the subject tagged once with one ``Re:``; a safe ``From`` name."""

from __future__ import annotations

import pytest

from channels.email_reply import AgentReply, build_reply, reply_subject


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


def agent_reply(author: str) -> AgentReply:
    return AgentReply(
        ticket_number=7,
        author=author,
        body="Hello",
        subject="Cannot log in",
        to_address="jane@customer.test",
        to_name="Jane Doe",
        message_id="<r1@support.example.com>",
        in_reply_to=None,
        references=(),
        from_address="support@example.com",
        from_name="Support",
        reply_to="support+7-sig@example.com",
    )


def test_the_from_name_is_the_author_and_the_support_name() -> None:
    mail = build_reply(agent_reply("alice"))
    assert mail["From"] == '"alice (Support)" <support@example.com>'


@pytest.mark.parametrize(
    "author", ["x\r\nBcc: all@evil.test", 'x" <a@evil.test>', "Bank <a@evil.test>", "\u202eecila"]
)
def test_a_stored_author_unfit_for_a_header_never_reaches_from(author: str) -> None:
    # Given a reply stored before authors were checked, with an unsafe author
    # When its mail is built, then it is signed by the support name alone
    mail = build_reply(agent_reply(author))
    assert mail["From"] == "Support <support@example.com>"
    assert mail["Bcc"] is None
