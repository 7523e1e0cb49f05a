"""The email channel's reply sender: acknowledgements and agent replies as mail.

Every mail carries our references (the ``[Ticket #N]`` subject tag, a signed
Message-ID given before the send, a signed ``Reply-To`` plus-address), so the
customer's answer threads back from any client; acknowledgements also carry the
RFC 3834 marks.
"""

from __future__ import annotations

import smtplib

from channels.email_out import (
    Acknowledgement,
    MailTransport,
    build_acknowledgement,
    new_message_id,
)
from channels.email_reply import AgentReply, build_reply
from channels.outbound import OutboundText, SendFailed, SendRefused, Sent
from channels.recipients import accepts
from config.settings import Settings
from normalize.references import signed_reply_address
from normalize.types import Party, PartyKind


class EmailSender:
    identity_kind = PartyKind.EMAIL

    def __init__(self, settings: Settings, transport: MailTransport) -> None:
        self.settings = settings
        self.transport = transport

    def refusal(self, recipient: Party) -> str | None:
        address = recipient.value
        if accepts(address, self.settings.recipients) or address == self.settings.from_address:
            return "recipient is one of our own addresses"
        return None

    def reference(self, ticket_number: int) -> str | None:
        settings = self.settings
        return new_message_id(settings.signing_key, settings.smtp_hostname, ticket_number)

    def send(self, text: OutboundText) -> Sent:
        assert text.reference is not None, "an email needs its Message-ID before it is sent"
        settings = self.settings
        reply_to = signed_reply_address(
            settings.signing_key, settings.from_address, text.ticket_number
        )
        if text.automated:
            message = build_acknowledgement(
                Acknowledgement(
                    ticket_number=text.ticket_number,
                    to_address=text.recipient.value,
                    to_name=text.recipient.name,
                    subject=text.subject,
                    in_reply_to=text.in_reply_to,
                    references=(),
                    message_id=text.reference,
                    from_address=settings.from_address,
                    from_name=settings.support_name,
                    reply_to=reply_to,
                    body=text.body,
                )
            )
        else:
            message = build_reply(
                AgentReply(
                    ticket_number=text.ticket_number,
                    author=text.author or settings.support_name,
                    body=text.body,
                    subject=text.subject,
                    to_address=text.recipient.value,
                    to_name=text.recipient.name,
                    message_id=text.reference,
                    in_reply_to=text.in_reply_to,
                    references=text.references,
                    from_address=settings.from_address,
                    from_name=settings.support_name,
                    reply_to=reply_to,
                )
            )
        try:
            self.transport.send(message, settings.from_address, [text.recipient.value])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = "; ".join(f"{code} {_text(why)}" for code, why in exc.recipients.values())
            raise SendRefused(f"the relay refused the recipient ({codes})") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(f"outbound mail failed: {exc}") from exc
        return Sent(external_id=text.reference)


def _text(why: bytes | str) -> str:
    return why.decode("utf-8", "replace") if isinstance(why, bytes) else why
