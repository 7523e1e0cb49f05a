"""Headers of the mail we send: ids as written, display names and addresses encoded right,
through the real builders and a real SMTP relay on loopback."""

from __future__ import annotations

import email
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from channels import mail_headers
from channels.email_out import Acknowledgement, SmtpTransport, build_acknowledgement
from channels.email_reply import AgentReply, build_reply
from normalize.headers import header_map, msgid_tokens, parse_addresses
from tests.servers import SinkHandler, free_port, smtp_sink

# The README's test mail: a Message-ID longer than one 78-character line.
LONG_ID = (
    "<9b36a0e4c2f14b5e8d7a6c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7"
    "@mail.customer.test>"
)


def ack(to_address: str = "jose@customer.test", to_name: str = "José") -> EmailMessage:
    return build_acknowledgement(
        Acknowledgement(
            ticket_number=10342,
            to_address=to_address,
            to_name=to_name,
            subject="Cannot log in",
            in_reply_to=LONG_ID,
            references=("<root@customer.test>",),
            message_id="<ack.10342@support.example.com>",
            from_address="support@example.com",
            from_name="Support",
            reply_to="support+10342-abc@example.com",
        )
    )


def agent_reply(to_name: str = "José") -> EmailMessage:
    return build_reply(
        AgentReply(
            ticket_number=10342,
            author="Sam",
            body="It works again.",
            subject="Cannot log in",
            to_address="jose@customer.test",
            to_name=to_name,
            message_id="<reply.10342@support.example.com>",
            in_reply_to=LONG_ID,
            references=("<root@customer.test>", LONG_ID),
            from_address="support@example.com",
            from_name="Support",
            reply_to="support+10342-abc@example.com",
        )
    )


def header_lines(message: EmailMessage) -> list[bytes]:
    head = bytes(message).split(b"\n\n", 1)[0]
    return head.split(b"\n")


@pytest.mark.parametrize("build", [ack, agent_reply], ids=["acknowledgement", "agent reply"])
def test_long_message_ids_are_written_as_they_are(build: object) -> None:
    # Given a customer Message-ID longer than a folded line
    assert len(LONG_ID) > 78
    message = build()  # type: ignore[operator]
    # When the mail is serialized
    lines = header_lines(message)
    # Then In-Reply-To and References carry the id verbatim, on one line, never encoded
    assert f"In-Reply-To: {LONG_ID}".encode() in lines
    [references] = [line for line in lines if line.startswith(b"References:")]
    assert references.endswith(LONG_ID.encode())
    assert b"=?" not in references
    assert msgid_tokens(references.decode().split(":", 1)[1])[-1] == LONG_ID


@pytest.mark.parametrize(
    "name",
    ['José "Pepe" Núñez', "Núñez, José", '"Zoë" <x>', 'Zoë \\ "a"', "Ωμέγα " * 20],
)
def test_display_names_with_quotes_and_accents_are_encoded_as_one_name(name: str) -> None:
    # Given a customer whose name has non-ASCII letters, quotes or commas
    raw = bytes(ack(to_name=name))
    # Then the header is 7-bit (RFC 2047 encoded) and reads back as that name and address
    head = raw.split(b"\n\n", 1)[0]
    assert head.isascii()
    [to] = parse_addresses(header_map_of(raw)["to"])
    assert (to.email, to.name) == ("jose@customer.test", " ".join(name.split()))


def header_map_of(raw: bytes) -> dict[str, list[str]]:
    from email import message_from_bytes
    from email.policy import compat32

    return header_map(message_from_bytes(raw, policy=compat32))


def test_acknowledgement_to_a_quoted_accented_name_is_sent_through_a_relay() -> None:
    # Given a relay on loopback
    with smtp_sink() as (sink, port):
        # When the acknowledgement to 'José "Pepe" Núñez' is sent
        SmtpTransport(f"smtp://127.0.0.1:{port}").send(
            ack(to_name='José "Pepe" Núñez'), "support@example.com", ["jose@customer.test"]
        )
    # Then the relay received it for that recipient, with the name intact
    [(sender, recipients, received)] = sink.messages
    assert (sender, recipients) == ("support@example.com", ["jose@customer.test"])
    [to] = parse_addresses([str(received["To"])])
    assert to.name == 'José "Pepe" Núñez'


def test_non_ascii_domain_is_sent_in_idna_form() -> None:
    with smtp_sink() as (sink, port):
        SmtpTransport(f"smtp://127.0.0.1:{port}").send(
            ack(to_address="jose@exämple.test"), "support@example.com", ["jose@exämple.test"]
        )
    [(_, recipients, received)] = sink.messages
    assert recipients == ["jose@xn--exmple-cua.test"]
    assert "jose@xn--exmple-cua.test" in str(received["To"])


def test_non_ascii_mailbox_is_sent_with_smtputf8() -> None:
    # Given a relay that speaks SMTPUTF8 (RFC 6531)
    with smtp_sink() as (sink, port):
        # When the acknowledgement goes to a mailbox with a non-ASCII local part
        SmtpTransport(f"smtp://127.0.0.1:{port}").send(
            ack(to_address="josé@customer.test", to_name='José "Pepe"'),
            "support@example.com",
            ["josé@customer.test"],
        )
    # Then it is delivered to that mailbox
    [(_, recipients, _)] = sink.messages
    assert recipients == ["josé@customer.test"]


@contextmanager
def relay_without_smtputf8() -> Iterator[int]:
    port = free_port()
    controller = Controller(SinkHandler(), hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def test_non_ascii_mailbox_on_a_relay_without_smtputf8_is_a_refused_recipient() -> None:
    # Given a relay that cannot carry non-ASCII mailboxes
    with relay_without_smtputf8() as port, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        # When mail to such a mailbox is sent
        SmtpTransport(f"smtp://127.0.0.1:{port}").send(
            ack(to_address="josé@customer.test"), "support@example.com", ["josé@customer.test"]
        )
    # Then it is refused for that recipient (permanent), not an error to retry for ever
    assert refused.value.recipients["josé@customer.test"][0] == 553


def test_references_past_the_line_limit_fold_between_ids_only() -> None:
    # Given a thread whose references make one line longer than RFC 5322's 998 characters
    ids = tuple(f"<{n:02d}{'x' * 90}@customer.test>" for n in range(20))
    message = build_reply(
        AgentReply(
            ticket_number=1,
            author="Sam",
            body="ok",
            subject="s",
            to_address="jose@customer.test",
            to_name="",
            message_id="<r@support.example.com>",
            in_reply_to=ids[-1],
            references=ids,
            from_address="support@example.com",
            from_name="Support",
            reply_to="support+1@example.com",
        )
    )
    lines = header_lines(message)
    start = next(i for i, line in enumerate(lines) if line.startswith(b"References:"))
    folded = [lines[start]] + [line for line in lines[start + 1 :] if line.startswith(b" ")]
    # Then every line is within the limit, the fold is between ids, and all ids are kept
    assert all(len(line) <= 998 for line in folded)
    assert len(folded) > 1
    value = b"".join(folded).decode().split(":", 1)[1]
    assert msgid_tokens(value) == ids


def test_header_classes_are_made_once_and_the_mail_is_as_the_standard_registry_writes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an acknowledgement built twice
    first, second = ack(), ack()
    # Then every header of both has the one class made for its name
    for (name, a), (_, b) in zip(first.items(), second.items(), strict=True):
        assert type(a) is type(b) is mail_headers.HEADER_CLASSES[name.upper()]
    # And it is the mail the standard registry (a new class per header) writes
    standard = mail_headers.OutboundPolicy(header_factory=HeaderRegistry())
    monkeypatch.setattr(mail_headers, "OUTBOUND", standard)
    written = ack()
    assert type(written["Subject"]) is not type(first["Subject"])

    def headers(message: EmailMessage) -> dict[str, list[str]]:
        found = header_map(email.message_from_bytes(message.as_bytes()))
        found.pop("date", None)
        return found

    assert headers(written) == headers(first)
    assert written.get_content() == first.get_content()
