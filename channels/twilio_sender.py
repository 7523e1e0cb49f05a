"""The reply sender of the ``sms`` and ``whatsapp`` channels: texts through Twilio.

``messages.create`` from the number the customer wrote to (or the account's
Messaging Service when that number is in its pool), with a status callback
that reports delivery (:mod:`channels.twilio_status`). A text longer than
Twilio's 1,600 characters goes as several messages, split between words; the
Twilio ``MessageSid``s are the message's ``external_id``. WhatsApp allows a
free-form message only within 24 hours of the customer's last message; outside
it the reply is refused with that reason (templates are not sent).

Twilio's answers are classified: 21610 (the customer texted STOP) refuses and
suppresses the number; other 4xx refuse; 429, 5xx and network errors are retried,
unless earlier parts of a long text already went out (a retry would send them again):
then the reply is refused, naming the parts that were sent.
"""

from __future__ import annotations

from datetime import timedelta

from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioException,
    TwilioRestException,
)

from channels.outbound import OutboundText, SendFailed, SendRefused, Sent
from channels.twilio_client import account_for, client_for
from config.settings import Settings
from ingest.models import utcnow
from normalize.twilio import WHATSAPP_PREFIX
from normalize.types import Channel, Party, PartyKind

MAX_CHARS = 1600
MAX_PARTS = 10
WHATSAPP_SESSION = timedelta(hours=24)
OPTED_OUT = 21610
OUTSIDE_SESSION = 63016
STATUS_PATH = "/webhooks/twilio/status"


def split_text(text: str, limit: int = MAX_CHARS) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, cut at whitespace where possible."""
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit + 1)
        cut = max(cut, text.rfind("\n", 0, limit + 1))
        if cut <= limit // 2:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def our_number(conversation_key: str | None) -> str | None:
    """Our side of an SMS conversation key (``customer:ours``), without ``whatsapp:``."""
    if not conversation_key or ":" not in conversation_key:
        return None
    return conversation_key.rsplit(":", 1)[1]


class TwilioSender:
    identity_kind = PartyKind.PHONE

    def __init__(self, settings: Settings, channel: str) -> None:
        self.settings = settings
        self.channel = channel
        self.whatsapp = channel == Channel.WHATSAPP

    def refusal(self, recipient: Party) -> str | None:
        if not self.settings.twilio:
            return "no Twilio account is configured"
        if recipient.kind is not PartyKind.PHONE:
            return f"a {self.channel} message needs a phone number, not {recipient.kind.value}"
        return None

    def reference(self, ticket_number: int) -> str | None:
        return None  # Twilio names the message (its MessageSid) when it takes it

    def send(self, text: OutboundText) -> Sent:
        if self.whatsapp:
            self._check_session(text)
        parts = split_text(text.body)
        if not parts:
            raise SendRefused("the text is empty")
        if len(parts) > MAX_PARTS:
            raise SendRefused(
                f"too long for a text: {len(text.body)} characters "
                f"(at most {MAX_PARTS * MAX_CHARS})"
            )
        ours = our_number(text.conversation_key)
        account = account_for(self.settings.twilio, ours)
        if account is None:
            raise SendRefused("no Twilio account is configured")
        prefix = WHATSAPP_PREFIX if self.whatsapp else ""
        sender: dict[str, str] = {}
        if ours is not None and (
            self.whatsapp or account.owns(ours) or not account.messaging_service
        ):
            sender["from_"] = prefix + ours
        elif account.messaging_service is not None:
            sender["messaging_service_sid"] = account.messaging_service
        else:
            raise SendRefused("no number to send from: the conversation names none")
        public = self.settings.public_url
        callback = {"status_callback": public + STATUS_PATH} if public else {}
        client = client_for(account, self.settings.twilio_api_url)
        sids: list[str] = []
        for part in parts:
            try:
                created = client.messages.create(
                    to=prefix + text.recipient.value, body=part, **sender, **callback
                )
            except TwilioRestException as exc:
                raise _partial(sids, len(parts), _classified(exc)) from exc
            except (TwilioException, OSError) as exc:
                failed = SendFailed(f"Twilio unreachable: {exc}")
                raise _partial(sids, len(parts), failed) from exc
            sids.append(str(created.sid))
        return Sent(external_id=" ".join(sids))

    def _check_session(self, text: OutboundText) -> None:
        wrote = text.customer_wrote_at
        if wrote is None or utcnow() - wrote > WHATSAPP_SESSION:
            when = f"last wrote {wrote:%Y-%m-%d %H:%M} UTC" if wrote else "never wrote"
            raise SendRefused(
                f"outside WhatsApp's 24-hour session: the customer {when}; "
                "a free-form message needs the customer to write first (templates are not sent)"
            )


def _partial(
    sent: list[str], total: int, error: SendRefused | SendFailed
) -> SendRefused | SendFailed:
    """A failure after some parts went out is final: a retry would text those parts again."""
    if not sent:
        return error
    reason = error.reason if isinstance(error, SendRefused) else str(error)
    return SendRefused(
        f"sent {len(sent)} of {total} parts ({' '.join(sent)}), then: {reason}",
        suppress=isinstance(error, SendRefused) and error.suppress,
    )


def _classified(exc: TwilioRestException) -> SendRefused | SendFailed:
    code = getattr(exc, "code", None)
    status = int(getattr(exc, "status", 0) or 0)
    detail = f"Twilio {status} error {code}: {getattr(exc, 'msg', '')}".strip()
    if code == OPTED_OUT:
        return SendRefused(f"the customer opted out of texts ({detail})", suppress=True)
    if code == OUTSIDE_SESSION:
        return SendRefused(f"outside WhatsApp's 24-hour session ({detail})")
    if status == 429 or status >= 500:
        return SendFailed(detail)
    return SendRefused(detail)
