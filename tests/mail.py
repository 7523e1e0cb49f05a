"""Build test mail the way real clients send it."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid


def customer_mail(
    *,
    sender: str = "Jane Doe <jane@customer.test>",
    to: str = "support@example.com",
    subject: str = "Cannot log in",
    body: str = "Hello,\nI cannot log in since this morning.\n\nJane\n",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id or make_msgid(domain="customer.test")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message


def wire(message: EmailMessage) -> bytes:
    """The message as it travels over SMTP: CRLF line endings (RFC 5321 2.3.8)."""
    return message.as_bytes(policy=SMTP)
