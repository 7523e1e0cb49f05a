"""Channel-specific ingest steps that run before threading, registered per channel.

The shared path (identity, threading, ticket, message, outbox) knows no channel by
name; a channel that needs more (email: duplicates by Message-ID, mail loops,
bounces) registers one step here. A step either finishes the inbound record and
returns the outcome, or returns None to let the shared path go on.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from config.settings import Settings
from ingest import email_steps, twilio_steps
from ingest.models import InboundRecord
from ingest.ticket_messages import IngestOutcome
from normalize.types import ParsedInput

BeforeThread = Callable[[Session, InboundRecord, ParsedInput, Settings], IngestOutcome | None]

_BEFORE_THREAD: dict[str, BeforeThread] = {
    "email": email_steps.before_thread,
    "twilio": twilio_steps.before_thread,
}


def register(channel: str, step: BeforeThread) -> None:
    """Add (or replace) the before-threading step of records from ``channel``."""
    _BEFORE_THREAD[channel] = step


def before_thread(
    session: Session, record: InboundRecord, parsed: ParsedInput, settings: Settings
) -> IngestOutcome | None:
    step = _BEFORE_THREAD.get(record.channel)
    return step(session, record, parsed, settings) if step is not None else None
