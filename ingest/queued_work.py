"""What follows an ingest, left to the workers as outbox rows.

An ingest without a continuation of its own (the inline ingest of a form post, the
``omniroute ingest`` pipe's) queues the triage and acknowledgement of a new ticket, or
the follow-up of a message on an existing one. An edge that stores several inputs in
one transaction gathers their rows and writes them with one statement when the batch
ends, dropping those of an ingest rolled back to its savepoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ingest import outbox
from ingest.models import Message, Ticket

Work = tuple[str, dict[str, Any]]


@dataclass
class QueuedWork:
    """A :class:`ingest.pipeline.Continuation` that queues the work instead of doing it.

    ``gathered``: the rows are kept there until :meth:`write`; None writes each at once.
    """

    gathered: list[Work] | None = None

    def ticket_opened(self, session: Session, ticket: Ticket, first: Message) -> None:
        payload = {"ticket_id": ticket.id}
        self._queue(session, [(outbox.TRIAGE, payload), (outbox.ACKNOWLEDGE, payload)])

    def message_added(self, session: Session, ticket: Ticket, message: Message) -> None:
        self._queue(
            session, [(outbox.FOLLOW_UP, {"ticket_id": ticket.id, "message_id": message.id})]
        )

    def mark(self) -> int:
        """Where the next ingest's rows begin, for :meth:`drop_since`."""
        return len(self.gathered) if self.gathered is not None else 0

    def drop_since(self, mark: int) -> None:
        """Forget the rows gathered since ``mark``: their ingest was rolled back."""
        if self.gathered is not None:
            del self.gathered[mark:]

    def write(self, session: Session) -> None:
        """Write the gathered rows, in one statement, in ``session``'s transaction."""
        if self.gathered:
            outbox.add_each(session, self.gathered)
            self.gathered.clear()

    def _queue(self, session: Session, works: list[Work]) -> None:
        if self.gathered is None:
            outbox.add_each(session, works)
        else:
            self.gathered.extend(works)
