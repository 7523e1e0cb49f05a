"""Specification of the email parser: headers, identity and body of one message."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

from normalize.email import parse_email
from normalize.types import Address, Channel, Party, PartyKind
from tests.normalize.email_fixtures import message, raw


def test_plain_message_becomes_an_email_channel_message() -> None:
    # Given a plain-text message
    # When it is parsed
    msg = message("plain.eml")
    # Then it is an email-channel message with a text body and no HTML
    assert msg.channel is Channel.EMAIL
    assert msg.body_html is None
    assert msg.body_full.startswith("Hello,\n\nThe printer on floor 3 is jammed again.")


def test_message_id_is_normalized_and_used_as_external_id() -> None:
    # Given a Message-ID written with spaces inside the angle brackets
    # When the message is parsed
    msg = message("plain.eml")
    # Then the id is the bare <...> token, used both as external id and message id
    assert msg.external_id == "<20240514093000.1234@mail.example.org>"
    assert msg.message_id == msg.external_id


def test_sender_address_is_lower_cased_and_keeps_display_name() -> None:
    # Given From: Alice Example <Alice@Example.ORG>
    # When parsed
    msg = message("plain.eml")
    # Then the address is lower-cased and the name kept
    assert msg.sender == Party(PartyKind.EMAIL, "alice@example.org", "Alice Example")


def test_recipients_are_to_and_cc_in_order() -> None:
    # Given a message To support and Cc bob
    # When parsed
    msg = message("plain.eml")
    # Then both are recipients, To first
    assert msg.recipients == (
        Address(email="support@example.com", name="Support"),
        Address(email="bob@example.net"),
    )


def test_folded_subject_is_unfolded_and_whitespace_collapsed() -> None:
    # Given a subject folded over two lines with runs of spaces
    # When parsed
    msg = message("plain.eml")
    # Then it reads as one line with single spaces
    assert msg.subject == "Printer on floor 3 is jammed"


def test_date_header_becomes_timezone_aware_sent_at() -> None:
    # Given Date: Tue, 14 May 2024 09:30:00 +0200
    # When parsed
    msg = message("plain.eml")
    # Then sent_at keeps the offset
    assert msg.sent_at == datetime(2024, 5, 14, 9, 30, tzinfo=timezone(timedelta(hours=2)))


def test_date_without_zone_information_is_taken_as_utc() -> None:
    # Given a Date with the RFC 5322 "-0000" zone (no local zone known)
    mail = b"From: a@example.org\r\nDate: Tue, 14 May 2024 09:30:00 -0000\r\n\r\nhi\r\n"
    # When parsed
    msg = parse_email(mail).message
    # Then sent_at is aware, in UTC
    assert msg.sent_at == datetime(2024, 5, 14, 9, 30, tzinfo=UTC)


def test_unreadable_date_gives_no_sent_at() -> None:
    # Given Date: not a date at all
    # When parsed
    msg = message("no_message_id.eml")
    # Then sent_at is None rather than an error
    assert msg.sent_at is None


def test_trailing_whitespace_and_crlf_are_normalized_in_body() -> None:
    # Given a CRLF message with trailing spaces on a line
    # When parsed
    msg = message("plain.eml")
    # Then lines end in \n without trailing whitespace, and the body has no trailing newline
    assert "\r" not in msg.body_full
    assert "jammed again.\nCould someone" in msg.body_full
    assert msg.body_full.endswith("Alice")


def test_missing_message_id_is_synthesized_from_content_hash() -> None:
    # Given a message without a Message-ID
    data = raw("no_message_id.eml")
    # When parsed
    msg = parse_email(data).message
    # Then a stable id is made from the sha256 of the raw bytes, with a warning
    expected = f"<{hashlib.sha256(data).hexdigest()}@omniroute.invalid>"
    assert msg.external_id == expected
    assert msg.message_id == expected
    assert "missing Message-ID; synthesized from content hash" in msg.warnings


def test_synthesized_message_id_is_stable_across_parses() -> None:
    # Given the same raw bytes delivered twice
    # When both are parsed
    first = message("no_message_id.eml")
    second = message("no_message_id.eml")
    # Then the dedupe key is the same
    assert first.external_id == second.external_id


def test_in_reply_to_and_references_are_id_tokens() -> None:
    # Given a reply with In-Reply-To and References (space separated)
    # When parsed
    msg = message("gmail_reply.eml")
    # Then both are tuples of <id> tokens in order
    assert msg.in_reply_to == ("<ack-10342@omniroute.example.com>",)
    assert msg.references == ("<orig-1@example.org>", "<ack-10342@omniroute.example.com>")


def test_references_are_capped_keeping_root_and_latest() -> None:
    # Given 150 references
    ids = " ".join(f"<ref-{n}@example.org>" for n in range(150))
    mail = f"From: a@example.org\r\nReferences: {ids}\r\n\r\nhi\r\n".encode()
    # When parsed
    refs = parse_email(mail).message.references
    # Then 100 are kept: the thread root and the most recent 99
    assert len(refs) == 100
    assert refs[0] == "<ref-0@example.org>"
    assert refs[1] == "<ref-51@example.org>"
    assert refs[-1] == "<ref-149@example.org>"


def test_clean_message_has_no_warnings_and_no_auto_reasons() -> None:
    # Given a well-formed message from a person
    # When parsed
    msg = message("plain.eml")
    # Then nothing was repaired and nothing looks automated
    assert msg.warnings == ()
    assert msg.auto_reasons == ()
    assert not msg.is_automated


def test_empty_body_gives_empty_texts_and_empty_subject() -> None:
    # Given a message with an empty Subject and no body
    # When parsed
    msg = message("empty_body.eml")
    # Then the texts are empty strings, not errors
    assert msg.subject == ""
    assert msg.body_full == ""
    assert msg.body_text == ""
    assert msg.attachments == ()


def test_rfc2047_subject_and_display_name_are_decoded() -> None:
    # Given a subject with adjacent Q and B encoded words and a Q-encoded display name
    # When parsed
    msg = message("rfc2047_subject.eml")
    # Then both read as text; whitespace between adjacent encoded words is dropped
    assert msg.subject.startswith("Grüße aus München -- ")
    assert msg.sender == Party(PartyKind.EMAIL, "renee@example.de", "Renée Müller")


def test_malformed_encoded_words_are_kept_as_written() -> None:
    # Given a subject with an unknown encoding letter and invalid base64
    # When parsed
    msg = message("rfc2047_subject.eml")
    # Then those words stay as written instead of failing the parse
    assert msg.subject.endswith("=?broken?X?zz?= =?utf-8?B?!!!notbase64?=")


def test_nul_bytes_are_stripped_from_body_with_warning() -> None:
    # Given a body containing NUL bytes
    mail = b"From: a@example.org\r\nMessage-ID: <n@x>\r\n\r\nab\x00c\x00\r\n"
    # When parsed
    msg = parse_email(mail).message
    # Then they are removed and the repair is reported
    assert msg.body_full == "abc"
    assert "NUL bytes removed from body" in msg.warnings


def test_envelope_sender_is_used_when_from_is_missing() -> None:
    # Given bytes that are not a MIME message at all, and an envelope sender
    # When parsed
    msg = message("garbage.eml", envelope_sender="Someone@Example.NET")
    # Then the envelope sender is the sender, with a warning
    assert msg.sender == Party(PartyKind.EMAIL, "someone@example.net")
    assert "From missing or unparseable; sender taken from the envelope" in msg.warnings


def test_garbage_bytes_still_give_a_readable_body() -> None:
    # Given non-MIME bytes with invalid UTF-8 and no charset
    # When parsed with an envelope sender
    msg = message("garbage.eml", envelope_sender="someone@example.net")
    # Then the body is decoded best-effort and the fallback is named
    assert "this is not “mail” at all" in msg.body_full
    assert any("no charset declared" in w for w in msg.warnings)
