"""Mail that used to lose text: a named inline body, no From, unknown charsets, broken base64,
and the line between the sender's fault (``Unparseable``) and a bug in the parser."""

from __future__ import annotations

import sys

import pytest

import normalize.email
from normalize.email import parse_email
from normalize.errors import Unparseable
from tests.normalize.email_fixtures import message, raw


def test_named_inline_text_that_is_the_only_text_is_the_body() -> None:
    # Given a mail whose only part is text/plain marked inline with a file name
    msg = message("inline_named_text.eml")
    # Then it is read as the body, not stored as an attachment
    assert msg.body_text == "The printer shows error E42 since the update.\nAna"
    assert msg.attachments == ()


def test_named_inline_text_beside_a_body_stays_an_attachment() -> None:
    # Given a body and, beside it, an inline text file with a name
    mail = (
        b"From: a@customer.test\r\nMessage-ID: <two@customer.test>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nSee the log below.\r\n"
        b'--B\r\nContent-Type: text/plain\r\nContent-Disposition: inline; filename="log.txt"\r\n'
        b"\r\nERROR 42\r\n--B--\r\n"
    )
    msg = parse_email(mail).message
    # Then the body is the unnamed part and the file is an attachment
    assert msg.body_text == "See the log below."
    assert [a.filename for a in msg.attachments] == ["log.txt"]


def test_text_marked_as_attachment_is_never_the_body() -> None:
    mail = (
        b"From: a@customer.test\r\nMessage-ID: <att@customer.test>\r\n"
        b'Content-Type: text/plain\r\nContent-Disposition: attachment; filename="a.txt"\r\n'
        b"\r\nfile content\r\n"
    )
    msg = parse_email(mail).message
    assert msg.body_text == ""
    assert [a.filename for a in msg.attachments] == ["a.txt"]


def test_sender_header_stands_in_for_a_missing_from() -> None:
    # Given a mail without From but with Sender, Reply-To and Return-Path
    msg = message("no_from_sender_header.eml", envelope_sender="env@customer.test")
    # Then Sender is taken first, and the warning names it
    assert (msg.sender.value, msg.sender.name) == ("ana@customer.test", "Ana Lima")
    assert "From missing or unparseable; sender taken from the Sender header" in msg.warnings


@pytest.mark.parametrize(
    ("headers", "envelope", "sender", "source"),
    [
        (
            "Reply-To: Ana <ana@customer.test>\r\n",
            "env@customer.test",
            "ana@customer.test",
            "the Reply-To header",
        ),
        (
            "Return-Path: <rp@customer.test>\r\n",
            "env@customer.test",
            "env@customer.test",
            "the envelope",
        ),
        ("Return-Path: <rp@customer.test>\r\n", None, "rp@customer.test", "the Return-Path header"),
    ],
)
def test_sender_falls_back_in_order_with_a_warning_naming_the_source(
    headers: str, envelope: str | None, sender: str, source: str
) -> None:
    mail = f"{headers}Message-ID: <fb@customer.test>\r\n\r\nhello\r\n".encode()
    msg = parse_email(mail, envelope_sender=envelope).message
    assert msg.sender.value == sender
    assert f"From missing or unparseable; sender taken from {source}" in msg.warnings


def test_null_return_path_and_no_other_sender_is_unparseable() -> None:
    # Given only a null Return-Path (a bounce) and no envelope
    with pytest.raises(Unparseable, match="no usable sender"):
        parse_email(b"Return-Path: <>\r\nSubject: x\r\n\r\nhello\r\n")


def test_x_unknown_charset_latin1_text_is_read_as_windows_1252_with_a_true_warning() -> None:
    # Given Latin-1 text labelled charset="x-unknown"
    msg = message("x_unknown_latin1.eml")
    # Then the accents read right and the warning says an unknown charset was declared
    assert msg.body_text == "The naïve approach failed, café closed."
    assert msg.warnings == (
        "body: unknown charset 'x-unknown' declared (RFC 6657 fallback); guessed cp1252",
    )


@pytest.mark.parametrize(
    ("text", "charset"),
    [
        ("naïve", "cp1252"),
        ("Hej, jag vill säga upp mitt abonnemang på måndag", "cp1252"),
        ("Dzień dobry, moje zamówienie nie dotarło. Proszę o pomoc", "cp1250"),
        ("Dobrý den, objednávka nedorazila, prosím o pomoc. Děkuji", "cp1250"),
        ("Здравствуйте, мой заказ не пришёл", "cp1251"),
        ("Καλημέρα σας, η παραγγελία μου δεν έφτασε", "cp1253"),
    ],
)
def test_undeclared_single_byte_text_reads_as_written(text: str, charset: str) -> None:
    mail = (
        b"From: a@customer.test\r\nMessage-ID: <cs@customer.test>\r\n"
        b"Content-Type: text/plain\r\n\r\n" + text.encode(charset) + b"\r\n"
    )
    assert parse_email(mail).message.body_text == text


def test_broken_base64_is_decoded_as_far_as_it_goes_with_warnings() -> None:
    # Given a base64 body with padding inside it and one stray last character
    msg = message("broken_base64.eml")
    # Then the text after the inner padding is kept, and the damage is reported
    assert msg.body_text == "Please call me back, my number is 555 0100. I will be at home"
    assert msg.warnings == (
        "body: broken base64: padding inside the data, decoded on past it",
        "body: broken base64: cut short, a last character that makes no byte dropped",
    )


def test_broken_base64_attachment_is_kept_with_a_warning() -> None:
    mail = (
        b"From: a@customer.test\r\nMessage-ID: <b64att@customer.test>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        b'--B\r\nContent-Type: application/pdf; name="a.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0x*LjQK\r\n--B--\r\n"
    )
    parsed = parse_email(mail)
    [info] = parsed.message.attachments
    assert parsed.payloads[info.sha256] == b"%PDF-1.4\n"
    assert parsed.message.warnings == (
        "attachment 1: broken base64: characters outside its alphabet skipped",
    )


def test_well_formed_base64_gives_no_warning() -> None:
    mail = (
        b"From: a@customer.test\r\nMessage-ID: <b64ok@customer.test>\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=\r\n"
    )
    msg = parse_email(mail).message
    assert (msg.body_text, msg.warnings) == ("hello world", ())


def test_a_crash_in_the_parser_propagates_instead_of_quarantining(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a bug in the parser's own code
    def broken(text: str) -> str:
        raise AttributeError("'NoneType' object has no attribute 'split'")

    monkeypatch.setattr(normalize.email, "strip_quotes", broken)
    # When a good mail is parsed
    # Then the bug surfaces as itself (the worker records it with stage and traceback)
    with pytest.raises(AttributeError):
        parse_email(raw("plain.eml"))


def test_nesting_past_what_the_mime_parser_can_read_is_unparseable() -> None:
    # Given a thousand nested multiparts (no client writes that)
    depth = 1000
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n)
        for n in range(depth)
    )
    mail = b"From: a@customer.test\r\n" + head + b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    # Then, with the interpreter's default recursion limit (where the parser gives up,
    # whatever the process has set), it is refused as input that cannot be read, not a
    # crash
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        with pytest.raises(Unparseable, match="MIME nesting too deep to parse"):
            parse_email(mail)
    finally:
        sys.setrecursionlimit(limit)


def test_base64_with_8bit_garbage_is_decoded_with_a_warning() -> None:
    # Given a base64 body with a raw 8-bit byte in it (no alphabet character)
    mail = (
        b"From: a@customer.test\r\nMessage-ID: <b64-8bit@customer.test>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n"
        b"\r\naGVsbG8g\xffd29ybGQ=\r\n"
    )
    msg = parse_email(mail).message
    # Then the byte is skipped and the rest decoded, with the repair reported
    assert msg.body_text == "hello world"
    assert msg.warnings == ("body: broken base64: characters outside its alphabet skipped",)
