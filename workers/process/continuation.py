"""One unit of work per inbound record: ingest, triage and the acknowledgement's plan in
one transaction, so a new ticket is routed without a hop through the broker.

Only work with outside effects is left in the outbox: sending the acknowledgement,
hand-offs to desks. Triage and planning run in a savepoint: a bug there rolls back
only that step and queues it as its own work (where the bug is recorded under its
stage), so the customer's message still becomes a ticket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from channels.outbound import ReplySender
from config.rules import RuleSet
from config.settings import Settings
from ingest import outbox
from ingest.db import is_store_trouble
from ingest.models import Message, OutboxEntry, Ticket
from ingest.opened import Opened
from router.classifier.types import CategoryClassifier
from workers.delivery.followups import plan_followups
from workers.outbound.acknowledge import PlannedAck, plan_acknowledgement, plan_opened
from workers.triage.decide import triage_ticket

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClaimedAck:
    """An acknowledgement whose outbox row the caller claimed, to send it after the commit;
    ``planned`` when this transaction planned it (its message and ticket at hand)."""

    entry: OutboxEntry
    planned: PlannedAck | None


@dataclass(frozen=True, slots=True)
class RouteInline:
    """The continuation the ``ingest`` actor gives ``process_inbound``."""

    settings: Settings
    rules: RuleSet
    classifier: CategoryClassifier | None
    senders: Mapping[str, ReplySender]
    # Acknowledgements the caller sends itself right after the commit (see
    # ``outbox.add_work(claimed=True)``); None: they go through the relay.
    claimed: list[ClaimedAck] | None = field(default=None)

    def ticket_opened(self, session: Session, ticket: Ticket, first: Message) -> None:
        opened = Opened(ticket, first)
        ticket_id = ticket.id

        def acknowledgement(opened: Opened | None) -> None:
            planned: PlannedAck | int | str
            if opened is not None:
                planned = plan_opened(session, self.settings, self.senders, opened)
            else:
                planned = plan_acknowledgement(session, self.settings, self.senders, ticket_id)
            if isinstance(planned, str):
                return
            claim = self.claimed is not None
            entry = outbox.add_work(session, outbox.ACKNOWLEDGE, claimed=claim, ticket_id=ticket_id)
            if self.claimed is not None:
                known = planned if isinstance(planned, PlannedAck) else None
                self.claimed.append(ClaimedAck(entry, known))

        def both() -> None:
            triage_ticket(session, ticket_id, self.rules, classifier=self.classifier, opened=opened)
            acknowledgement(opened)

        # One savepoint for both in the common case. After a bug, each step again on its
        # own savepoint (reading the ticket back as its own actor would), so the one that
        # works is kept and only the other is queued.
        mark = len(self.claimed) if self.claimed is not None else 0
        if self._try(session, both):
            return
        if self.claimed is not None:
            del self.claimed[mark:]  # rolled back with the savepoint
        self._step(
            session,
            lambda: triage_ticket(session, ticket_id, self.rules, classifier=self.classifier),
            fallback=lambda: outbox.add_work(session, outbox.TRIAGE, ticket_id=ticket_id),
        )
        self._step(
            session,
            lambda: acknowledgement(None),
            fallback=lambda: outbox.add_work(session, outbox.ACKNOWLEDGE, ticket_id=ticket_id),
        )

    def message_added(self, session: Session, ticket: Ticket, message: Message) -> None:
        ticket_id, message_id = ticket.id, message.id
        self._step(
            session,
            lambda: plan_followups(session, ticket_id, message_id),
            fallback=lambda: outbox.add_work(
                session, outbox.FOLLOW_UP, ticket_id=ticket_id, message_id=message_id
            ),
        )

    @staticmethod
    def _try(session: Session, step: Callable[[], object]) -> bool:
        """Run ``step`` in a savepoint; False (rolled back, logged) when it raised a bug."""
        try:
            with session.begin_nested():
                step()
        except Exception as exc:
            if is_store_trouble(exc):
                raise
            log.exception("inline step failed")
            return False
        return True

    @classmethod
    def _step(
        cls, session: Session, step: Callable[[], object], fallback: Callable[[], object]
    ) -> None:
        if not cls._try(session, step):
            log.warning("inline step queued as its own work instead")
            fallback()
