"""Storing a post that passed the guards: rate limits, the durable accept, the inline ingest.

Three transactions, in order, in one worker thread: the rate-limit buckets (a post
over a limit is refused, recorded, and nothing of it stored), the accept (raw input,
dedupe key and outbox row), then the inline ingest that makes the ticket. On SQLite,
which takes one writer at a time, the web process's writers queue on a lock rather
than in SQLite's busy handler, whose sleeps grow to 100 ms.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from channels.webforms.guards import RATE_LIMIT
from channels.webforms.inline import TicketView, ingest_now
from config.settings import Settings
from ingest.accept import RawInput, accept_raw
from ingest.db import connection_unit
from ingest.form_refusals import Refused, record_refusal, spill_refused
from ingest.models import utcnow
from ingest.rate_buckets import Limit, Refusal, take
from ingest.raw_inputs import RawSpill


@dataclass(frozen=True, slots=True)
class Sender:
    """Who posted, for the refusal record: the form, client address and email."""

    form: str
    client_ip: str
    email: str


@dataclass(frozen=True)
class Intake:
    sessions: sessionmaker[Session]
    settings: Settings
    sqlite_writes: threading.Lock = field(default_factory=threading.Lock)

    def store(
        self, item: RawInput, buckets: list[Limit], sender: Sender
    ) -> TicketView | Refusal | None:
        """The ticket (None when the worker must make it), or the rate-limit refusal.

        Raises ``StoreUnavailable`` when nothing could be stored."""
        with self._writer():
            admitted = self._admit(item, buckets, sender)
            if isinstance(admitted, Refusal):
                return admitted
            return ingest_now(self.sessions, self.settings, admitted)

    def record(self, refused: Refused) -> None:
        """Keep a refused post; raises ``StoreUnavailable`` when it cannot be kept."""
        kept = spill_refused(refused, RawSpill.for_settings(self.settings))
        with self._writer(), connection_unit(self.sessions) as conn:
            record_refusal(conn, kept)

    def _writer(self) -> AbstractContextManager[object]:
        bind = self.sessions.kw["bind"]
        return self.sqlite_writes if bind.dialect.name == "sqlite" else nullcontext()

    def _admit(self, item: RawInput, buckets: list[Limit], sender: Sender) -> int | Refusal:
        with connection_unit(self.sessions) as conn:
            refusal = take(conn, buckets, utcnow())
            if refusal is not None:
                # The sender is told when to try again, so the post itself is not kept.
                refused = Refused(
                    sender.form,
                    RATE_LIMIT,
                    f"{refusal.key} is empty",
                    sender.client_ip,
                    sender.email,
                    b"",
                    {},
                )
                record_refusal(conn, refused)
                return refusal
        return accept_raw(
            self.sessions,
            channel=item.channel,
            dedupe_key=item.dedupe_key,
            raw=item.raw,
            envelope=item.envelope,
            spill=RawSpill.for_settings(self.settings),
        ).inbound_id
