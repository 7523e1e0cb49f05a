"""What a desk client gets for one attempt: the facts of the hand-off, and the tools to send.

``Handoff`` is read from the store in one short transaction before any network
call, so a desk client never touches the database; ``DeskContext`` holds what the
worker process shares (the HTTP client, the mail transport, our sender identity).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from channels.email_out import MailTransport
from config.settings import Settings
from ingest.blobs import BlobStore, blob_store_for
from workers.delivery.desks.base import AttemptResult, Outcome, result
from workers.delivery.planning import ESCALATED

if TYPE_CHECKING:
    import httpx

# Our priorities, most urgent last (config.rules_schema.PRIORITIES), and each desk's words.
PRIORITY_RANK = {"low": 1, "medium": 2, "high": 3, "critical": 4}


@dataclass(frozen=True, slots=True)
class AttachmentFile:
    """An attachment of the handed-off message.

    ``key`` names its bytes in the blob store (None when it was refused at intake);
    ``content`` holds them once read for an attempt (see ``deliver.load_attachments``).
    """

    filename: str
    content_type: str
    size: int
    key: str | None
    refused_reason: str | None = None
    content: bytes | None = None

    def read(self) -> bytes:
        if self.content is None:
            raise ValueError(f"attachment {self.filename!r} was not read from the blob store")
        return self.content


@dataclass(frozen=True, slots=True)
class Handoff:
    """One delivery attempt's facts.

    ``message_*`` describe the message the event is about: the first customer message
    for ``ticket.created``, the new one for ``message.appended``, the timeline event
    for ``ticket.status_changed`` and ``ticket.escalated``. ``seen_before`` is true
    when an earlier attempt may have reached the desk (any attempt was started), so a
    client looks for what it created before creating it again. ``parent_external_id``
    is the desk's id for this ticket, from this destination's ``ticket.created``
    delivery, when there is one.
    """

    delivery_id: int
    event: str
    idempotency_key: str
    attempt: int
    seen_before: bool
    ticket_number: int
    ticket_status: str
    subject: str
    priority: str | None
    category: str | None
    team: str | None
    tags: tuple[str, ...]
    customer_name: str
    customer_email: str | None
    message_id: int
    message_kind: str
    message_from: str
    message_subject: str
    message_id_header: str | None
    body_text: str
    received_at: datetime
    planned_at: datetime
    attachments: tuple[AttachmentFile, ...] = ()
    document: Mapping[str, Any] = field(default_factory=dict)
    parent_external_id: str | None = None
    raw_message: bytes | None = None
    # A large original's blob key: ``raw_message`` is read from the store with the
    # attachments, so a hand-off never goes on with only the stored head.
    raw_message_blob: str | None = None

    @property
    def sendable_attachments(self) -> tuple[AttachmentFile, ...]:
        return tuple(a for a in self.attachments if a.content is not None)

    def unforwarded_notes(self) -> list[str]:
        """One line per attachment that cannot go along, saying why."""
        return [
            f"[attachment {a.filename} not forwarded: "
            f"{a.refused_reason or 'its content is not stored'}]"
            for a in self.attachments
            if a.content is None
        ]

    @property
    def message_from_someone_else(self) -> bool:
        """A customer message written by someone other than the ticket's customer (a Cc)."""
        email = self.customer_email
        return (
            self.message_kind == "message"
            and email is not None
            and self.message_from.lower() != email.lower()
        )

    @property
    def customer_label(self) -> str:
        """``Jane Doe <jane@customer.test>``, or whichever half is known."""
        name, email = self.customer_name.strip(), self.customer_email
        if name and email:
            return f"{name} <{email}>"
        return name or email or "unknown customer"


@dataclass(frozen=True, slots=True)
class DeskContext:
    """What the desk clients of one worker process share."""

    # The process's shared client, made at first use (``shared_client.SharedClient``).
    http_client: Callable[[], httpx.Client]
    mail: MailTransport
    from_address: str
    from_name: str
    hostname: str
    signing_key: bytes
    blobs: BlobStore
    clock: Callable[[], float] = time.time

    def now(self) -> int:
        return int(self.clock())

    @property
    def http(self) -> httpx.Client:
        return self.http_client()


def desk_context(
    settings: Settings, http: Callable[[], httpx.Client], mail: MailTransport
) -> DeskContext:
    """The desk clients' tools for a worker process with ``settings``; ``http`` gives the
    HTTP client when a desk first needs it."""
    return DeskContext(
        http_client=http,
        mail=mail,
        from_address=settings.from_address,
        from_name=settings.support_name,
        hostname=settings.smtp_hostname,
        signing_key=settings.signing_key,
        blobs=blob_store_for(settings),
    )


def parent_ticket_id(handoff: Handoff, who: str) -> str | AttemptResult:
    """The numeric id of the external ticket a follow-up or escalation goes onto, or the
    rejection explaining why there is none (the ticket was never handed to ``who``)."""
    ticket_id = handoff.parent_external_id
    if ticket_id and ticket_id.isdigit():
        return ticket_id
    if handoff.event == ESCALATED:
        error = (
            f"{who} takes ticket.escalated only for a ticket it already has; "
            "plan ticket.created to hand the ticket over"
        )
    else:
        error = f"no {who} ticket id to follow up on: {ticket_id!r}"
    return result(Outcome.REJECTED, error=error)
