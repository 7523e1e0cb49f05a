"""The Dramatiq actors, registered explicitly on the runtime's broker.

Actor arguments are ids; each actor is safe to run twice. Faults are classified:
a transient one (store or network down) is raised so Dramatiq retries it with
backoff; anything else is a bug, recorded in ``failed_work`` with its stage and
traceback and not retried, so one poison message cannot spin forever. What a bug
leaves half-done is marked failed with the reason: the inbound record of an
ingest, the acknowledgement or reply being sent. ``omniroute failed retry`` runs
it again.

A run that finished, or recorded its bug, marks its outbox row done (the row's id
travels in the message); a run that died leaves it due, and the scheduler hands
it to the broker again.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import dramatiq
from dramatiq.middleware import CurrentMessage
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from channels.email_out import MailTransport, mail_transport
from channels.outbound import ReplySender
from channels.reply_senders import SenderResources, build_senders
from channels.twilio_status import SendNotRecordedYet, apply_status
from channels.twilio_webhooks import STATUS as TWILIO_STATUS
from config.logs import CONTEXT_FIELDS, log_context
from config.statuses import OutboundState
from ingest import outbox
from ingest.blobs import BlobUnavailable
from ingest.db import is_store_trouble, unit_of_work
from ingest.errors import SourceUnavailable, StoreUnavailable
from ingest.models import AutomatedSend, FailedWork, InboundRecord, Message, OutboxEntry, utcnow
from ingest.pipeline import process_inbound
from ingest.signals import Defer
from ingest.twilio_steps import MEDIA as TWILIO_MEDIA
from workers.delivery.deliver import deliver
from workers.delivery.desks.handoff import desk_context
from workers.delivery.desks.shared_client import SharedClient
from workers.delivery.followups import plan_followups, plan_status_change
from workers.errors import TransientError
from workers.outbound.acknowledge import PURPOSE as ACKNOWLEDGEMENT
from workers.outbound.acknowledge import AcknowledgementSend, acknowledge
from workers.outbound.send import ReadyToSend
from workers.outbound.send_reply import send_reply
from workers.process.continuation import ClaimedAck, RouteInline
from workers.process.ingest_group import ingest_waiting, requeue_deferred
from workers.process.runtime import Runtime
from workers.triage.decide import triage_ticket
from workers.triage.live_model import classifier_for

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


def register_actors(
    runtime: Runtime, transport: MailTransport | None = None
) -> dict[str, dramatiq.Actor[Any, Any]]:
    settings = runtime.settings
    mail = transport or mail_transport(settings)
    http = SharedClient()
    desks = desk_context(settings, http, mail)
    senders = build_senders(SenderResources(settings=settings, mail=mail))
    if settings.slack_bot_token is not None:
        # Without a bot token Slack events stay as they came: no Slack SDK to load.
        from channels.slack_intake import install as install_slack

        install_slack(settings)

    def run_ingest(inbound_id: int) -> None:
        _guarded(
            runtime,
            outbox.INGEST,
            {"inbound_id": inbound_id},
            lambda: _ingest(runtime, senders, inbound_id),
        )

    def run_triage(ticket_id: int) -> None:
        def step(session: Session) -> None:
            loaded = runtime.rules_source.snapshot()
            classifier = classifier_for(loaded, runtime.live_model.current())
            triage_ticket(session, ticket_id, loaded.rules, classifier=classifier)

        _guarded(runtime, outbox.TRIAGE, {"ticket_id": ticket_id}, _in_one_unit(runtime, step))

    def run_deliver(delivery_id: int) -> None:
        _guarded(
            runtime,
            outbox.DELIVER,
            {"delivery_id": delivery_id},
            lambda: deliver(runtime.sessions, runtime.rules, delivery_id, desks),
        )

    def run_follow_up(ticket_id: int, message_id: int) -> None:
        def step(session: Session) -> None:
            plan_followups(session, ticket_id, message_id)

        payload = {"ticket_id": ticket_id, "message_id": message_id}
        _guarded(runtime, outbox.FOLLOW_UP, payload, _in_one_unit(runtime, step))

    def run_status_change(ticket_id: int, message_id: int) -> None:
        def step(session: Session) -> None:
            plan_status_change(session, runtime.rules, ticket_id, message_id)

        payload = {"ticket_id": ticket_id, "message_id": message_id}
        _guarded(runtime, outbox.STATUS_CHANGE, payload, _in_one_unit(runtime, step))

    def run_acknowledge(ticket_id: int) -> None:
        def step() -> bool:
            entry_id = _outbox_id()
            acknowledge(runtime.sessions, settings, senders, ticket_id, _done_with(entry_id))
            return True

        _guarded(runtime, outbox.ACKNOWLEDGE, {"ticket_id": ticket_id}, step)

    def run_send_reply(message_id: int) -> None:
        _guarded(
            runtime,
            outbox.SEND_REPLY,
            {"message_id": message_id},
            lambda: send_reply(runtime.sessions, senders, message_id),
        )

    functions: dict[str, Callable[..., None]] = {
        outbox.INGEST: run_ingest,
        outbox.TRIAGE: run_triage,
        outbox.DELIVER: run_deliver,
        outbox.ACKNOWLEDGE: run_acknowledge,
        outbox.FOLLOW_UP: run_follow_up,
        outbox.STATUS_CHANGE: run_status_change,
        outbox.SEND_REPLY: run_send_reply,
        **_twilio_functions(runtime, http),
    }
    return {
        name: dramatiq.actor(actor_name=name, queue_name=runtime.queue, broker=runtime.broker)(fn)
        for name, fn in functions.items()
    }


def _twilio_functions(
    runtime: Runtime, http: Callable[[], httpx.Client]
) -> dict[str, Callable[..., None]]:
    """The Twilio channel's work: media downloads and delivery reports."""
    settings = runtime.settings

    def run_twilio_media(inbound_id: int) -> None:
        # Imported at the first MMS: it needs httpx, which no other work here may load.
        from channels.twilio_media import fetch_media

        def step() -> None:
            waiting = fetch_media(runtime.sessions, settings, http(), inbound_id)
            if waiting:
                raise TransientError(f"{waiting} media of inbound {inbound_id} wait for a retry")

        _guarded(runtime, TWILIO_MEDIA, {"inbound_id": inbound_id}, step)

    def run_twilio_status(sid: str, status: str, error_code: str, received_at: str) -> None:
        def step() -> None:
            try:
                with unit_of_work(runtime.sessions) as session:
                    apply_status(
                        session, sid, status, error_code, datetime.fromisoformat(received_at)
                    )
            except SendNotRecordedYet as exc:
                raise TransientError(f"no outbound message {exc} yet") from exc

        payload = {"sid": sid, "status": status}
        _guarded(runtime, TWILIO_STATUS, payload, step)

    return {TWILIO_MEDIA: run_twilio_media, TWILIO_STATUS: run_twilio_status}


Step = Callable[[], bool]


def _in_one_unit(runtime: Runtime, work: Callable[[Session], object]) -> Step:
    """A step whose work is one transaction, which also marks its outbox row done."""

    def step() -> bool:
        entry_id = _outbox_id()
        with unit_of_work(runtime.sessions) as session:
            work(session)
            if entry_id is not None:
                outbox.mark_done(session, entry_id)
        return True

    return step


def _guarded(
    runtime: Runtime, stage: str, payload: dict[str, Any], step: Callable[[], object]
) -> None:
    entry_id = _outbox_id()
    ids = {k: v for k, v in payload.items() if k in CONTEXT_FIELDS}
    try:
        with log_context(**ids):
            marked = step() is True
    except TransientError as exc:
        if exc.retry_after_seconds is not None:
            # The peer said when (a rate limit's Retry-After): wait that long, not the backoff.
            raise dramatiq.Retry(str(exc), delay=int(exc.retry_after_seconds * 1000)) from exc
        raise  # Dramatiq's Retries middleware backs off and tries again
    except (StoreUnavailable, SourceUnavailable, BlobUnavailable):
        raise  # transient: Dramatiq retries with backoff
    except Exception as exc:
        log.exception("%s failed with a bug for %s; recorded, not retried", stage, payload)
        _record_bug(runtime, stage, payload, exc, entry_id)
    else:
        if entry_id is not None and not marked:
            with unit_of_work(runtime.sessions) as session:
                outbox.mark_done(session, entry_id)
    finally:
        # Work committed by this step goes to the broker now, not on the next poll.
        runtime.outbox_signal.set()


def _ingest(runtime: Runtime, senders: Mapping[str, ReplySender], inbound_id: int) -> bool:
    """One inbound record to a routed ticket in one transaction, then its acknowledgement."""
    settings = runtime.settings
    entry_id = _outbox_id()
    loaded = runtime.rules_source.snapshot()
    classifier = classifier_for(loaded, runtime.live_model.current())
    claimed: list[ClaimedAck] = []
    then = RouteInline(settings, loaded.rules, classifier, senders, claimed)
    try:
        with unit_of_work(runtime.sessions) as session:
            process_inbound(session, inbound_id, settings, then)
            if entry_id is not None:
                outbox.mark_done(session, entry_id)
            ingest_waiting(session, settings, then, settings.ingest_group_size - 1)
            # The acknowledgements' sends are prepared in this same transaction (each
            # reference given, marked ``sending``); only the sends themselves and
            # their outcomes come after the commit.
            sends = [_prepare_inline(session, runtime, senders, claim) for claim in claimed]
    except Defer as signal:
        # This message's work is done; the record comes back after the delay.
        with unit_of_work(runtime.sessions) as session:
            requeue_deferred(session, inbound_id, signal)
            if entry_id is not None:
                outbox.mark_done(session, entry_id)
        return True
    # The acknowledgement goes out now, from this thread: no relay pass, no broker
    # round trip. Committed as claimed work, so nothing else runs it meanwhile.
    for claim, send in zip(claimed, sends, strict=True):
        _acknowledge_now(runtime, senders, claim.entry, send)
    return True


@dataclass(frozen=True, slots=True)
class _PreparedAck:
    ack: AcknowledgementSend
    ready: ReadyToSend | str


def _prepare_inline(
    session: Session, runtime: Runtime, senders: Mapping[str, ReplySender], claim: ClaimedAck
) -> _PreparedAck | None:
    """The acknowledgement's first half in a savepoint of the ingest's transaction; None
    after a bug there (rolled back, logged), and the whole send runs on its own."""
    entry = claim.entry
    ack = AcknowledgementSend(
        runtime.settings,
        senders,
        entry.payload["ticket_id"],
        _done_with(entry.id),
        planned=claim.planned,
    )
    try:
        with session.begin_nested():
            return _PreparedAck(ack, ack.prepare(session))
    except Exception as exc:
        if is_store_trouble(exc):
            raise
        log.exception("preparing the acknowledgement of outbox %s inline failed", entry.id)
        return None


def _acknowledge_now(
    runtime: Runtime,
    senders: Mapping[str, ReplySender],
    entry: OutboxEntry,
    prepared: _PreparedAck | None,
) -> None:
    """Run a claimed acknowledgement and mark its row done; on any failure give it back
    to the relay, so the ``acknowledge`` actor runs it with its retries and bug record."""
    try:
        if prepared is not None:
            prepared.ack.deliver(runtime.sessions, prepared.ready)
        else:
            ticket_id = entry.payload["ticket_id"]
            acknowledge(
                runtime.sessions, runtime.settings, senders, ticket_id, _done_with(entry.id)
            )
    except Exception as exc:
        log.warning("outbox %s goes to the broker instead: %r", entry.id, exc)
        try:
            with unit_of_work(runtime.sessions) as session:
                outbox.release(session, entry.id)
        except StoreUnavailable:
            log.warning("outbox %s stays claimed until the redelivery sweep", entry.id)


def _done_with(entry_id: int | None) -> Callable[[Session], None] | None:
    """Marks outbox row ``entry_id`` done inside the work's own last transaction."""
    if entry_id is None:
        return None
    return lambda session: outbox.mark_done(session, entry_id)


def _outbox_id() -> int | None:
    """The outbox row of the message being processed (None when sent without one)."""
    message = CurrentMessage.get_current_message()
    value = message.options.get(outbox.OUTBOX_ID) if message is not None else None
    return value if isinstance(value, int) else None


def _record_bug(
    runtime: Runtime, stage: str, payload: dict[str, Any], exc: Exception, entry_id: int | None
) -> None:
    reason = f"{stage}: {type(exc).__name__}: {exc}"[:2000]
    with unit_of_work(runtime.sessions) as session:
        session.add(
            FailedWork(
                stage=stage,
                payload=payload,
                error=f"{type(exc).__name__}: {exc}"[:2000],
                traceback="".join(traceback.format_exception(exc))[-20_000:],
            )
        )
        if entry_id is not None:
            outbox.mark_done(session, entry_id)  # failed_work holds it now
        if stage == outbox.INGEST:
            record = session.get(InboundRecord, payload["inbound_id"])
            if record is not None and record.status == "pending":
                record.status = "failed"
                record.status_reason = reason
                record.processed_at = utcnow()
        elif stage == outbox.ACKNOWLEDGE:
            # Never "sending" for ever: the send is failed, with the bug as its reason.
            session.execute(
                update(AutomatedSend)
                .where(
                    AutomatedSend.ticket_id == payload["ticket_id"],
                    AutomatedSend.purpose == ACKNOWLEDGEMENT,
                    AutomatedSend.status == "sending",
                )
                .values(status="failed", reason=reason)
            )
            _fail_outbound(
                session,
                Message.ticket_id == payload["ticket_id"],
                Message.kind == ACKNOWLEDGEMENT,
                reason=reason,
            )
        elif stage == outbox.SEND_REPLY:
            _fail_outbound(session, Message.id == payload["message_id"], reason=reason)


def _fail_outbound(session: Session, *where: ColumnElement[bool], reason: str) -> None:
    """Outbound messages a bug interrupted are failed with the reason, not left in flight."""
    session.execute(
        update(Message)
        .where(
            Message.direction == "outbound",
            Message.delivery_state.in_((OutboundState.QUEUED, OutboundState.SENDING)),
            *where,
        )
        .values(delivery_state=OutboundState.FAILED, delivery_error=reason)
    )
