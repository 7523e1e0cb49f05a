"""SQLAlchemy 2.x models: the raw journal, customers, tickets, messages, outbox, decisions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from config.statuses import (
    AutomatedSendStatus,
    DeliveryStatus,
    DeskEvent,
    InboundStatus,
    OutboundState,
    TicketStatus,
)
from ingest.envelope import JsonValue


def one_of(
    table: str, column: str, values: Iterable[str], *, nullable: bool = False
) -> CheckConstraint:
    """A CHECK constraint that ``column`` holds one of ``values`` (the states of
    ``config.statuses``), named ``ck_<table>_<column>``."""
    listed = ", ".join(f"'{value}'" for value in values)
    condition = f"{column} IN ({listed})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=f"ck_{table}_{column}")


def utcnow() -> datetime:
    return datetime.now(UTC)


# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {
        dict[str, Any]: JSON,
        dict[str, JsonValue]: JSON,
        list[Any]: JSON,
        datetime: UTCDateTime(),
    }


class InboundRecord(Base):
    """Raw input exactly as received, committed before the sender is acknowledged."""

    __tablename__ = "inbound"
    __table_args__ = (one_of("inbound", "status", InboundStatus),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(512), unique=True)
    # The whole input; or, when ``raw_blob`` names a blob holding it (a large input),
    # only its head, for listings. Read the whole with ``ingest.raw_inputs.raw_bytes``.
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    raw_blob: Mapped[str | None] = mapped_column(String(100))
    raw_size: Mapped[int | None] = mapped_column(BigInteger)
    envelope: Mapped[dict[str, JsonValue]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # pending -> processed | duplicate | quarantined | failed
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when this customer was merged into another; undoing the merge clears it.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))

    identities: Mapped[list[Identity]] = relationship(back_populates="customer")


class CustomerMerge(Base):
    """Identities moved from one customer to another, kept so the merge can be undone."""

    __tablename__ = "customer_merges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    from_customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    into_customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    identity_ids: Mapped[list[Any]] = mapped_column(default=list)
    ticket_ids: Mapped[list[Any]] = mapped_column(default=list)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]


class Identity(Base):
    """One way to reach a customer: an email address, a phone number, a Slack user."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))
    # How the link to the customer was learned ("channel", "token", "agent",
    # "merge") and whether it was proven rather than merely claimed.
    provenance: Mapped[str] = mapped_column(String(16), default="channel")
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when mail to this address bounced; no automated mail goes to it then.
    bouncing_since: Mapped[datetime | None]
    bounce_reason: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer] = relationship(back_populates="identities")


class Ticket(Base):
    """A conversation with a customer; ``id`` is the human ticket number."""

    __tablename__ = "tickets"
    __table_args__ = (one_of("tickets", "status", TicketStatus),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[str | None] = mapped_column(String(16))
    team: Mapped[str | None] = mapped_column(String(64))
    linked_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # Set by triage: who decided the category ("rule", "model", "fallback", "default"),
    # or "agent" once a person corrected it (those tickets feed `omniroute train`).
    category_source: Mapped[str | None] = mapped_column(String(16))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str | None] = mapped_column(String(16))
    tier: Mapped[str | None] = mapped_column(String(32))
    assignee: Mapped[str | None] = mapped_column(String(120), index=True)
    # SLA clock: targets computed at triage in business hours, met by the first agent
    # answer and by resolution; the scheduler's sweep escalates what passes them.
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    first_responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()
    messages: Mapped[list[Message]] = relationship(
        back_populates="ticket", order_by="Message.id", foreign_keys="Message.ticket_id"
    )

    @property
    def number(self) -> int:
        return self.id


class Message(Base):
    """One message on a ticket, inbound or outbound, with the signal that threaded it."""

    __tablename__ = "messages"
    # Finds a channel's message by the channel's own id (a Slack ``channel:ts``).
    __table_args__ = (
        Index("ix_messages_channel_external_id", "channel", "external_id"),
        one_of("messages", "delivery_state", OutboundState, nullable=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    # Unique: exactly one ticket message per inbound record, however often ingest runs.
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound.id"), unique=True)
    direction: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16), default="message")
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(512))
    message_id_header: Mapped[str | None] = mapped_column(String(512), index=True)
    # The message an inbound message answers (its first In-Reply-To id): a message
    # that arrives after its answer threads onto the answer's ticket.
    in_reply_to: Mapped[str | None] = mapped_column(String(512), index=True)
    sender: Mapped[str] = mapped_column(String(320), default="")
    # The kind of identity ``sender`` is (email, phone, slack, web), and the
    # identity row it came from, for inbound messages.
    sender_kind: Mapped[str | None] = mapped_column(String(16))
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    recipient: Mapped[str | None] = mapped_column(String(320))
    # The channel's conversation (Slack thread, SMS number pair) this message is in.
    conversation_key: Mapped[str | None] = mapped_column(String(512), index=True)
    # Outbound messages: queued -> sending -> sent -> delivered, or failed (with the reason).
    delivery_state: Mapped[str | None] = mapped_column(String(16))
    delivery_error: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_full: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    auto_reasons: Mapped[list[Any]] = mapped_column(default=list)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    thread_signal: Mapped[str] = mapped_column(String(32), default="new-ticket")
    thread_detail: Mapped[str] = mapped_column(Text, default="")
    # The name of the API token that wrote this message (an agent's reply over HTTP).
    token_name: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="messages", foreign_keys=[ticket_id])
    identity: Mapped[Identity | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id")
    # Edits and deletes the sender made on the channel, oldest first.
    revisions: Mapped[list[MessageRevision]] = relationship(order_by="MessageRevision.id")


class Attachment(Base):
    """Attachment metadata; the bytes live content-addressed under the data dir."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[str | None] = mapped_column(String(255))
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    refused_reason: Mapped[str | None] = mapped_column(Text)


class OutboxEntry(Base):
    """Work for a Dramatiq actor, written in the same transaction as the change it follows.

    The row is the work's record of truth, the broker message only its transport: it is
    due from ``not_before``, handed to the broker at ``enqueued_at`` (as message
    ``broker_message_id``), and done at ``done_at`` (the actor finished, or recorded a
    bug). Work handed over and not done within the redelivery timeout, and no longer
    held by the broker, is handed over again (``redeliveries`` counts it).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "enqueued_at", "not_before"),
        # Only the work not done yet: what the redelivery sweep and the due-work ages read.
        Index(
            "ix_outbox_due",
            "actor",
            "not_before",
            postgresql_where=text("done_at IS NULL"),
            sqlite_where=text("done_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]
    # The broker's id of the last message sent for it, to ask whether it still holds it.
    broker_message_id: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[datetime | None]
    redeliveries: Mapped[int] = mapped_column(Integer, default=0)


class DecisionRecord(Base):
    """A triage decision with the trace of rules that produced it."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("ticket_id", "rules_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16))
    team: Mapped[str] = mapped_column(String(64))
    destinations: Mapped[list[Any]] = mapped_column(default=list)
    assignee: Mapped[str | None] = mapped_column(String(120))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    trace: Mapped[list[Any]] = mapped_column(default=list)
    rules_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One hand-off of one ticket message to one destination."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("destination", "message_id", "event"),
        one_of("deliveries", "status", DeliveryStatus),
        one_of("deliveries", "event", DeskEvent),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    destination: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    # pending -> delivered | rejected | dead (retrying in between)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    external_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(order_by="DeliveryAttempt.id")


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class AutomatedSend(Base):
    """Every automated message we send (or decided not to), for loop and rate protection."""

    __tablename__ = "automated_sends"
    __table_args__ = (
        UniqueConstraint("ticket_id", "purpose"),
        one_of("automated_sends", "status", AutomatedSendStatus),
        Index("ix_automated_sends_recipient_time", "recipient", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    purpose: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(320))
    # sending -> sent | suppressed | failed (a bug; the reason says which)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    message_id_header: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class FailedWork(Base):
    """Work that failed through a bug: kept with its stage and traceback, to replay once fixed."""

    __tablename__ = "failed_work"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    stage: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    replayed_at: Mapped[datetime | None]


class TeamCursor(Base):
    """Where round-robin assignment stands in one team's member list."""

    __tablename__ = "team_cursors"

    team: Mapped[str] = mapped_column(String(80), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlaBreach(Base):
    """One missed SLA target of one ticket; unique, so a breach escalates exactly once."""

    __tablename__ = "sla_breaches"
    __table_args__ = (UniqueConstraint("ticket_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # first_response | resolution
    due_at: Mapped[datetime]
    breached_at: Mapped[datetime] = mapped_column(default=utcnow)
    actions: Mapped[list[Any]] = mapped_column(default=list)


class RoleHeartbeat(Base):
    """The last sign of life of one process of one role (``web``, ``worker``...)."""

    __tablename__ = "role_heartbeats"
    __table_args__ = (UniqueConstraint("role", "instance"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    # host:pid, so a restarted process is a new instance and a dead one goes stale.
    instance: Mapped[str] = mapped_column(String(160))
    serves: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class RefusalCount(Base):
    """How often an edge refused input, by channel and reason (refused input is not kept)."""

    __tablename__ = "refusal_counts"
    __table_args__ = (UniqueConstraint("channel", "reason"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    first_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelVersion(Base):
    """A category model trained from the store's corrected tickets, with its figures.

    ``status``: ``live`` (at most one: the model triage uses when the rules name
    none), ``candidate`` (was live or could be made live), ``rejected`` (did not beat
    the model in force). ``figures`` holds the held-apart evaluation of this model
    and of the model in force when it was trained.
    """

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version: Mapped[str] = mapped_column(String(16), unique=True)
    artifact: Mapped[bytes] = mapped_column(LargeBinary)
    trained_at: Mapped[datetime]
    training_rows: Mapped[int] = mapped_column(Integer)
    labels: Mapped[list[Any]] = mapped_column(default=list)
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelEvent(Base):
    """One promotion, rejection or rollback of a category model, and why."""

    __tablename__ = "model_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version: Mapped[str] = mapped_column(String(16))  # "builtin": the shipped model
    action: Mapped[str] = mapped_column(String(16))  # promoted | rejected | used
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token for the HTTP API: its public id, a keyed hash of its secret, scopes.

    The secret itself is never stored; ``secret_hash`` is HMAC-SHA256 of it under the
    token's own random ``salt``. Tokens are revoked, never deleted, so what a token did
    stays attributable to its name.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    salt: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    # Display names replies may be signed with; empty means only the token's name.
    authors: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class FormRefusal(Base):
    """A web-form post refused as abuse (honeypot, time trap, token, origin, rate limit).

    Kept with its submission (the JSON the edge would have stored) so a false
    positive can be released into a ticket; ``inbound_id`` is the record it became.
    """

    __tablename__ = "form_refusals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    form: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)  # as ``InboundRecord.raw``
    raw_blob: Mapped[str | None] = mapped_column(String(100))
    raw_size: Mapped[int | None] = mapped_column(BigInteger)
    envelope: Mapped[dict[str, JsonValue]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    released_at: Mapped[datetime | None]
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound.id"))


class RateBucket(Base):
    """A token bucket shared by every web process: ``tokens`` left at ``updated_at``."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime]


class FollowUpRevocation(Base):
    """Follow-up links of a ticket issued before ``revoked_at`` no longer open."""

    __tablename__ = "follow_up_revocations"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    revoked_at: Mapped[datetime]


class TwilioMedia(Base):
    """One media item of an MMS or WhatsApp message, and where its download stands.

    ``pending`` until a worker stored it (``stored``, with its attachment) or gave up
    (``failed``); every failed attempt leaves its reason in ``error``.
    """

    __tablename__ = "twilio_media"
    __table_args__ = (UniqueConstraint("inbound_id", "position"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(255))
    account_sid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MessageRevision(Base):
    """An earlier or later version of an inbound message the sender edited or deleted
    on its channel (a Slack ``message_changed`` / ``message_deleted``)."""

    __tablename__ = "message_revisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    # The inbound record that carried the change: unique, so a rerun adds nothing.
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # edited | deleted
    previous_text: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
