"""Bounces say which of our messages, and which addresses, failed."""

from __future__ import annotations

from normalize.bounce import parse_bounce

DSN = (
    b"From: MAILER-DAEMON@mx.example.net\r\nTo: support@example.com\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain\r\n\r\nsorry\r\n"
    b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns; mx.example.net\r\n\r\n"
    b"Final-Recipient: rfc822; Jane@Example.NET\r\nAction: %s\r\nStatus: %s\r\n"
    b"Diagnostic-Code: smtp; 550 user unknown\r\n"
    b"--B\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: support@example.com\r\nMessage-ID: <orig@support.example.com>\r\n\r\nhello\r\n"
    b"--B--\r\n"
)


def test_rfc3464_report_names_recipient_message_and_status() -> None:
    bounce = parse_bounce(DSN % (b"failed", b"5.1.1"))
    assert bounce is not None
    assert bounce.failed_recipients == ("jane@example.net",)
    assert bounce.original_message_id == "<orig@support.example.com>"
    assert (bounce.status, bounce.permanent) == ("5.1.1", True)
    assert bounce.diagnostic == "smtp; 550 user unknown"


def test_delayed_delivery_is_not_permanent() -> None:
    bounce = parse_bounce(DSN % (b"delayed", b"4.4.1"))
    assert bounce is not None
    assert bounce.permanent is False


def test_our_own_addresses_are_never_reported_as_failed() -> None:
    bounce = parse_bounce(DSN % (b"failed", b"5.1.1"), exclude=frozenset({"jane@example.net"}))
    assert bounce is not None
    assert bounce.failed_recipients == ()


def test_free_text_bounce_from_mailer_daemon_is_recognized() -> None:
    raw = (
        b"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n"
        b"Subject: Delivery Status Notification (Failure)\r\n\r\n"
        b"Address not found: jane@example.net\r\n550 5.1.1 The email account does not exist.\r\n"
        b"Message-ID: <orig@support.example.com>\r\n"
    )
    bounce = parse_bounce(raw)
    assert bounce is not None
    assert bounce.failed_recipients == ("jane@example.net",)
    assert bounce.original_message_id == "<orig@support.example.com>"
    assert bounce.status == "5.1.1"


def test_a_person_writing_about_delivery_is_not_a_bounce() -> None:
    raw = b"From: jane@example.net\r\nSubject: Undeliverable parcel\r\n\r\nWhere is it?\r\n"
    assert parse_bounce(raw) is None


def test_garbage_is_not_a_bounce_and_does_not_raise() -> None:
    assert parse_bounce(b"\xff\xfe\x00garbage") is None


def test_returned_headers_in_a_charset_no_codec_takes_still_name_the_message() -> None:
    # 8-bit bytes under a charset with a NUL in its name: read as text, the standard
    # library raises ValueError for the part
    raw = (DSN % (b"failed", b"5.1.1")).replace(
        b"--B\r\nContent-Type: message/rfc822\r\n\r\n",
        b"--B\r\nContent-Type: text/rfc822-headers; charset=utf\x00-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nSubject: R\xe9sum\xe9\r\n",
    )
    bounce = parse_bounce(raw)
    assert bounce is not None
    assert bounce.failed_recipients == ("jane@example.net",)
    assert bounce.original_message_id == "<orig@support.example.com>"
