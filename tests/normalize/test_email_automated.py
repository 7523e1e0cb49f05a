"""Specification of automated-mail detection in email parsing (RFC 3834 loop prevention)."""

from __future__ import annotations

import pytest

from normalize.email import parse_email
from tests.normalize.email_fixtures import message


def _mail(*headers: str) -> bytes:
    lines = ["From: someone@example.org", "Message-ID: <auto@x>", *headers, "", "hi", ""]
    return "\r\n".join(lines).encode()


def test_out_of_office_reply_lists_every_signal() -> None:
    # Given an out-of-office reply with Auto-Submitted, Precedence and X-Auto-Response-Suppress
    # When parsed
    msg = message("out_of_office.eml")
    # Then each signal is a reason, and the message counts as automated
    assert msg.auto_reasons == (
        "auto-submitted: auto-replied",
        "precedence: auto_reply",
        "x-auto-response-suppress",
    )
    assert msg.is_automated


def test_bounce_from_mailer_daemon_is_automated() -> None:
    # Given a delivery-status report from MAILER-DAEMON with an empty Return-Path
    # When parsed
    msg = message("bounce.eml")
    # Then the null return path, the daemon sender and the report type are reasons
    assert "empty return-path" in msg.auto_reasons
    assert "from is mailer-daemon" in msg.auto_reasons
    assert "content-type: multipart/report" in msg.auto_reasons


def test_auto_submitted_no_is_a_person() -> None:
    # Given Auto-Submitted: no (RFC 3834 §5: explicitly not automated)
    # When parsed
    msg = parse_email(_mail("Auto-Submitted: no")).message
    # Then there is no reason
    assert msg.auto_reasons == ()


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Auto-Submitted: auto-generated; owner-email=x@y", "auto-submitted: auto-generated"),
        ("Precedence: bulk", "precedence: bulk"),
        ("Precedence: JUNK", "precedence: junk"),
        ("Precedence: list", "precedence: list"),
        ("X-Autoreply: yes", "x-autoreply"),
        ("X-Autorespond: anything", "x-autorespond"),
        ("X-Auto-Response-Suppress: OOF", "x-auto-response-suppress"),
        ("List-Id: <news.example.org>", "list-id"),
        ("List-Unsubscribe: <mailto:leave@example.org>", "list-unsubscribe"),
        ("Return-Path: <>", "empty return-path"),
    ],
)
def test_each_automated_header_is_a_reason(header: str, reason: str) -> None:
    # Given a message carrying one automated-mail header
    # When parsed
    msg = parse_email(_mail(header)).message
    # Then that header is named as the reason
    assert msg.auto_reasons == (reason,)


def test_precedence_first_class_is_not_automated() -> None:
    # Given a Precedence value outside bulk/junk/list/auto_reply
    # When parsed
    msg = parse_email(_mail("Precedence: first-class")).message
    # Then it is not a reason
    assert msg.auto_reasons == ()


def test_postmaster_envelope_sender_is_automated() -> None:
    # Given a person's From but a postmaster envelope sender
    # When parsed
    msg = parse_email(_mail(), envelope_sender="Postmaster@example.org").message
    # Then the envelope is named
    assert msg.auto_reasons == ("envelope sender is postmaster",)


def test_null_envelope_sender_is_automated() -> None:
    # Given the SMTP null reverse-path (MAIL FROM:<>) that bounces use
    # When parsed
    msg = parse_email(_mail(), envelope_sender="").message
    # Then it is a reason
    assert msg.auto_reasons == ("empty envelope sender",)
