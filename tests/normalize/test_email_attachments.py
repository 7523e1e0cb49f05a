"""Specification of attachment extraction and size limits in email parsing."""

from __future__ import annotations

import base64
import hashlib

from normalize.email import EmailLimits, parse_email
from tests.normalize.email_fixtures import message, parse

PDF = b"%PDF-1.4\n% fake pdf for tests\n%%EOF\n"


def _with_attachments(*payloads: bytes) -> bytes:
    parts = [
        b"From: a@example.org\r\nMessage-ID: <att@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
    ]
    for number, payload in enumerate(payloads, start=1):
        parts.append(
            b"--b\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Disposition: attachment; filename=file%d.bin\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" % number + base64.encodebytes(payload)
        )
    parts.append(b"--b--\r\n")
    return b"".join(parts)


def test_rfc2231_filename_is_decoded() -> None:
    # Given a filename in RFC 2231 continuations with UTF-8 percent-encoding
    # When parsed
    first = message("rfc2231_filename.eml").attachments[0]
    # Then the filename is the decoded text
    assert first.filename == "Vertrag für Müller.pdf"
    assert first.content_type == "application/pdf"


def test_attachment_bytes_are_stored_under_their_sha256() -> None:
    # Given a message with a PDF attachment
    # When parsed
    parsed = parse("rfc2231_filename.eml")
    info = parsed.message.attachments[0]
    # Then the decoded bytes are in payloads, keyed by their hash, with the size
    assert info.sha256 == hashlib.sha256(PDF).hexdigest()
    assert info.size == len(PDF)
    assert parsed.payloads[info.sha256] == PDF
    assert info.refused_reason is None


def test_filename_is_reduced_to_a_safe_basename() -> None:
    # Given an RFC 2047 encoded name with a Windows path and a bidi override
    # When parsed
    second = message("rfc2231_filename.eml").attachments[1]
    # Then only the basename is kept, without control or format characters
    assert second.filename == "secretgpj.exe"


def test_long_filename_is_truncated_keeping_extension() -> None:
    # Given a 300-character filename
    mail = _with_attachments(b"x").replace(b"file1.bin", b"a" * 300 + b".pdf")
    # When parsed
    info = parse_email(mail).message.attachments[0]
    # Then it is 200 characters and still ends in .pdf
    assert len(info.filename) == 200
    assert info.filename.endswith(".pdf")


def test_attachment_without_filename_is_named_by_position() -> None:
    # Given an attachment part with no filename
    mail = _with_attachments(b"one", b"two").replace(b"; filename=file2.bin", b"")
    # When parsed
    names = [a.filename for a in parse_email(mail).message.attachments]
    # Then it is named after its position
    assert names == ["file1.bin", "attachment-2"]


def test_inline_image_with_content_id_is_an_inline_attachment() -> None:
    # Given multipart/related with an image referenced by Content-ID
    # When parsed
    parsed = parse("inline_image.eml")
    (image,) = parsed.message.attachments
    # Then it is an inline attachment with the id without angle brackets
    assert image.content_type == "image/png"
    assert image.content_id == "shot1@example.org"
    assert image.inline is True
    assert image.sha256 in parsed.payloads


def test_inline_image_does_not_change_the_text_body() -> None:
    # Given the same related message with plain and HTML alternatives
    # When parsed
    msg = message("inline_image.eml")
    # Then the body is the plain text and the HTML keeps the cid reference
    assert msg.body_full == "See the screenshot below."
    assert msg.body_html == '<p>See the screenshot below.</p><img src="cid:shot1@example.org">'


def test_forwarded_message_is_kept_whole_as_attachment() -> None:
    # Given a message/rfc822 part
    # When parsed
    parsed = parse("forwarded_rfc822.eml")
    (forwarded,) = parsed.message.attachments
    # Then it is one attachment holding the embedded message
    assert forwarded.filename == "forwarded-message.eml"
    assert forwarded.content_type == "message/rfc822"
    stored = parsed.payloads[forwarded.sha256]
    assert b"Subject: Your order 1234" in stored
    assert b"Thank you for your order." in stored
    assert parsed.message.body_full == "Forwarding the confirmation I got."


def test_oversize_attachment_is_described_but_not_stored() -> None:
    # Given a 2 000-byte attachment and a 1 000-byte per-attachment limit
    mail = _with_attachments(b"x" * 2000)
    limits = EmailLimits(max_attachment_bytes=1000)
    # When parsed
    parsed = parse_email(mail, limits=limits)
    (info,) = parsed.message.attachments
    # Then it is listed with its size, hash and reason, without its bytes
    assert info.refused_reason == "attachment exceeds 1000 bytes"
    assert info.size == 2000
    assert info.sha256 == hashlib.sha256(b"x" * 2000).hexdigest()
    assert parsed.payloads == {}


def test_attachment_pushing_total_over_limit_is_refused() -> None:
    # Given three 600-byte attachments and a 1 500-byte total
    mail = _with_attachments(b"a" * 600, b"b" * 600, b"c" * 600)
    limits = EmailLimits(max_attachment_bytes=1000, max_total_attachment_bytes=1500)
    # When parsed
    parsed = parse_email(mail, limits=limits)
    # Then the first two are stored and the third is refused for the total
    reasons = [a.refused_reason for a in parsed.message.attachments]
    assert reasons == [None, None, "attachments exceed 1500 bytes in total"]
    assert set(parsed.payloads) == {
        hashlib.sha256(b"a" * 600).hexdigest(),
        hashlib.sha256(b"b" * 600).hexdigest(),
    }


def test_delivery_status_of_a_bounce_is_kept_as_attachment() -> None:
    # Given a multipart/report bounce
    # When parsed
    parsed = parse("bounce.eml")
    kinds = [a.content_type for a in parsed.message.attachments]
    # Then the report and the returned message are attachments, the notice is the body
    assert kinds == ["message/delivery-status", "message/rfc822"]
    status = parsed.payloads[parsed.message.attachments[0].sha256]
    assert b"Status: 5.1.1" in status
    assert "550 5.1.1 User unknown" in parsed.message.body_full


def test_an_attachment_in_a_charset_no_codec_takes_is_kept_as_it_came() -> None:
    # Given a text attachment whose base64 is followed by an 8-bit byte, in a charset
    # with a NUL in its name (the standard library's text payload raises ValueError)
    text = "Rechnung für März".encode("latin-1")
    mail = (
        b"From: a@example.org\r\nMessage-ID: <att-nul@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        b"--b\r\nContent-Type: text/plain; charset=latin\x00-1\r\n"
        b"Content-Disposition: attachment; filename=bill.txt\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(text) + b"\xff\r\n"
        b"--b--\r\n"
    )
    # When parsed
    result = parse_email(mail)
    # Then the attachment is kept with the bytes that decode, and the body is read
    [attachment] = result.message.attachments
    assert attachment.filename == "bill.txt"
    assert result.payloads[attachment.sha256].startswith(text)
    assert result.message.body_text == "See attached."
