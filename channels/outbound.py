"""The contract of a reply sender, the outbound half of a channel's adapter.

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

Each channel's sender is registered in ``channels.reply_senders``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

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
