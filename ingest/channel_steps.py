"""Channel-specific ingest steps that run before threading, registered per channel.

The shared path (identity, threading, ticket, message, outbox) knows no channel by
name; a channel that needs more (email: duplicates by Message-ID, mail loops,
bounces) registers one step here. A step either finishes the inbound record and
returns the outcome, or returns None to let the shared path go on.

A channel whose input names things the parser cannot see (a Slack user's profile,
a file behind the channel's API) also registers an enricher, from the shell that
holds the clients: it returns the parsed input completed, before attachments are
stored, and raises ``SourceUnavailable`` when the channel's API is briefly down.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from config.settings import Settings
from ingest import email_steps, slack_steps, twilio_steps
from ingest.models import InboundRecord
from ingest.ticket_messages import IngestOutcome
from normalize.types import ParsedInput

BeforeThread = Callable[[Session, InboundRecord, ParsedInput, Settings], IngestOutcome | None]
Enrich = Callable[[Session, InboundRecord, ParsedInput, Settings], ParsedInput]

_BEFORE_THREAD: dict[str, BeforeThread] = {
    "email": email_steps.before_thread,
    "twilio": twilio_steps.before_thread,
    "slack": slack_steps.before_thread,
}
_ENRICH: dict[str, Enrich] = {}


def register_enrich(channel: str, enrich: Enrich) -> None:
    """Add (or replace) the enricher of records from ``channel``."""
    _ENRICH[channel] = enrich


def enrich(
    session: Session, record: InboundRecord, parsed: ParsedInput, settings: Settings
) -> ParsedInput:
    step = _ENRICH.get(record.channel)
    return step(session, record, parsed, settings) if step is not None else parsed


def register(channel: str, step: BeforeThread) -> None:
    """Add (or replace) the before-threading step of records from ``channel``."""
    _BEFORE_THREAD[channel] = step


def before_thread(
    session: Session, record: InboundRecord, parsed: ParsedInput, settings: Settings
) -> IngestOutcome | None:
    step = _BEFORE_THREAD.get(record.channel)
    return step(session, record, parsed, settings) if step is not None else None
