"""The Twilio part of ingest (SMS, MMS, WhatsApp): keywords and media, before threading.

- Opt-out keywords (``STOP`` and the rest Twilio honours) suppress the sender's
  phone identity; ``START``/``UNSTOP`` lift it; ``HELP`` is answered by Twilio.
  Such a message is kept on the conversation's ticket as a note and never opens a
  ticket, triggers an acknowledgement or goes to a desk.
- Media: each ``MediaUrl{i}`` becomes a ``twilio_media`` row, and a worker
  downloads it (:mod:`channels.twilio_media`) after this transaction commits.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from config.settings import Settings
from ingest import outbox
from ingest.blobs import blob_store_for
from ingest.events import record_event
from ingest.identity import sender_for, suppress, unsuppress
from ingest.models import InboundRecord, TwilioMedia, utcnow
from ingest.raw_inputs import raw_bytes
from ingest.threading import ConversationWindow, find_thread
from ingest.ticket_messages import IngestOutcome, add_message, finish
from normalize.twilio import HELP, OPT_IN, OPT_OUT, form_of, keyword_of, media_of
from normalize.types import ParsedInput

MEDIA = "twilio_media"


def before_thread(
    session: Session, record: InboundRecord, parsed: ParsedInput, settings: Settings
) -> IngestOutcome | None:
    """Handle a keyword here; plan media downloads; otherwise let the shared path go on."""
    msg = parsed.message
    keyword = keyword_of(msg.body_text)
    if keyword is None:
        plan_media(session, record, settings)
        return None
    sender = sender_for(session, msg.sender)
    word = msg.body_text.strip().upper()
    if keyword == OPT_OUT:
        suppress(session, msg.sender, f"opted out by text {word}")
    elif keyword == OPT_IN:
        unsuppress(session, msg.sender)
    match = find_thread(
        session,
        msg,
        sender.customer.id,
        secret=settings.signing_key,
        window=ConversationWindow(settings.conversation_windows.get(str(msg.channel))),
    )
    ticket = match.ticket or match.previous
    what = {
        OPT_OUT: f"{msg.sender.value} opted out of texts ({word}): nothing more is sent",
        OPT_IN: f"{msg.sender.value} opted back in to texts ({word})",
        HELP: f"{msg.sender.value} asked for {word}; Twilio answers it",
    }[keyword]
    if ticket is None:
        return finish(record, "ignored", f"{what}; no ticket in this conversation")
    note = add_message(
        session, ticket, record, parsed, match, kind=keyword, identity_id=sender.identity.id
    )
    record_event(session, ticket, what, channel=str(msg.channel))
    plan_media(session, record, settings)
    finish(record, "processed", what)
    return IngestOutcome("processed", ticket_id=ticket.id, message_id=note.id)


def plan_media(session: Session, record: InboundRecord, settings: Settings) -> None:
    """One ``twilio_media`` row per media item, and the work to fetch them."""
    raw = raw_bytes(record, blob_store_for(settings))
    form = form_of(raw, str(record.envelope.get("content_type", "form")))
    items = media_of(form)
    if not items:
        return
    now = utcnow()
    for item in items:
        session.add(
            TwilioMedia(
                inbound_id=record.id,
                position=item.index,
                url=item.url,
                content_type=item.content_type[:255],
                account_sid=form.get("AccountSid", ""),
                status="pending",
                attempts=0,
                updated_at=now,
            )
        )
    outbox.add_work(session, MEDIA, inbound_id=record.id)
