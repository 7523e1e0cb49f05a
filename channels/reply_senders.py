"""Reply senders: one per channel, the outbound half of a channel's adapter.

The shell (``workers/outbound``) decides what to send and to whom, keeps the
outbound message's delivery state in the store, and calls the channel's sender
outside any transaction. A sender only speaks its channel's protocol:

- ``identity_kind``: the kind of customer identity it writes to;
- ``refusal(recipient)``: why it will never write to this recipient (one of our
  own addresses, say), or None;
- ``reference(ticket_number)``: an id to give the message before it is sent (a
  signed Message-ID), stored first so a second run sends the same message; None
  when the channel assigns its own id on send;
- ``send(text)``: deliver, and say what the channel called it. It raises
  ``SendRefused`` when the channel refused for good (never retried) and
  ``SendFailed`` when it may work later (retried with backoff).

A new channel adds one sender module and registers its factory here (or, from
outside this package, calls :func:`register` at start).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from channels.email_out import MailTransport
from config.settings import Settings
from normalize.types import Party, PartyKind


class SendFailed(Exception):
    """The channel could not take the message now (down, rate limited); try again later,
    after ``retry_after_seconds`` when the channel said so."""

    def __init__(self, reason: str, retry_after_seconds: float | None = None) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(reason)


class SendRefused(Exception):
    """The channel refused this message for good; ``reason`` is kept on it.

    ``suppress``: the recipient must get nothing more on any send (they opted out
    with the channel itself, say), so the identity is suppressed too."""

    def __init__(self, reason: str, *, suppress: bool = False) -> None:
        self.reason = reason
        self.suppress = suppress
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class OutboundText:
    """One message to a customer, as the channel's sender needs it."""

    ticket_number: int
    # "acknowledgement" (automated: RFC 3834 marks, never to machines) or "reply".
    purpose: str
    recipient: Party
    subject: str
    body: str
    conversation_key: str | None = None
    # The agent who wrote a reply (shown as its author); None for automated messages.
    author: str | None = None
    # ``reference(...)``'s id, already stored on the message.
    reference: str | None = None
    # The customer's latest message on this channel and the conversation's earlier ids.
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    # When the customer last wrote in this conversation (for session windows like
    # WhatsApp's 24 hours); None when they never did.
    customer_wrote_at: datetime | None = None

    @property
    def automated(self) -> bool:
        return self.author is None


@dataclass(frozen=True, slots=True)
class Sent:
    """What the channel said: its id for the message, and ``sent`` or ``queued``."""

    external_id: str | None
    state: str = "sent"


class ReplySender(Protocol):
    identity_kind: PartyKind

    def refusal(self, recipient: Party) -> str | None: ...

    def reference(self, ticket_number: int) -> str | None: ...

    def send(self, text: OutboundText) -> Sent: ...


@dataclass(frozen=True, slots=True)
class SenderResources:
    """What a sender factory may use: settings and the process's shared clients."""

    settings: Settings
    mail: MailTransport


SenderFactory = Callable[[SenderResources], ReplySender]


def _email(resources: SenderResources) -> ReplySender:
    from channels.email_sender import EmailSender

    return EmailSender(resources.settings, resources.mail)


def _web(resources: SenderResources) -> ReplySender:
    from channels.webforms.sender import WebSender

    return WebSender(resources.settings, resources.mail)


def _sms(resources: SenderResources) -> ReplySender:
    from channels.twilio_sender import TwilioSender

    return TwilioSender(resources.settings, "sms")


def _whatsapp(resources: SenderResources) -> ReplySender:
    from channels.twilio_sender import TwilioSender

    return TwilioSender(resources.settings, "whatsapp")


def _slack(resources: SenderResources) -> ReplySender:
    from channels.slack_sender import SlackSender

    return SlackSender(resources.settings)


_FACTORIES: dict[str, SenderFactory] = {
    "email": _email,
    "web": _web,
    "sms": _sms,
    "whatsapp": _whatsapp,
    "slack": _slack,
}


def register(channel: str, factory: SenderFactory) -> None:
    """Add (or replace) the reply sender of ``channel``."""
    _FACTORIES[channel] = factory


def build_senders(resources: SenderResources) -> Mapping[str, ReplySender]:
    """One sender per registered channel, for this process, each made when first used."""
    return _Senders(resources, dict(_FACTORIES))


class _Senders(Mapping[str, ReplySender]):
    """A channel's sender (and its SDK: Slack's, Twilio's) is made on its first send,
    so a process that never answers on a channel never loads what it needs."""

    def __init__(self, resources: SenderResources, factories: dict[str, SenderFactory]) -> None:
        self._resources = resources
        self._factories = factories
        self._made: dict[str, ReplySender] = {}
        self._lock = threading.Lock()

    def __getitem__(self, channel: str) -> ReplySender:
        made = self._made.get(channel)
        if made is not None:
            return made
        factory = self._factories[channel]  # KeyError: no sender for that channel
        with self._lock:
            if channel not in self._made:
                self._made[channel] = factory(self._resources)
            return self._made[channel]

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)
