"""Storing a post that passed the guards: rate limits, the durable accept, the inline ingest.

One transaction, in one worker thread: the rate-limit buckets (a post over a limit
is refused, recorded, and nothing of it stored), the raw submission with its dedupe
key, then the inline ingest that makes the ticket, behind a savepoint. Should the
ingest fail, the savepoint is rolled back and the worker's ``ingest`` queued in its
place; either way the raw submission is committed before the answer is sent.

Posts are edge writes (``ingest.write_gate``): on SQLite, which takes one writer at
a time, they go before the workers' transactions, and a process's posts queue for one
store thread of their own rather than for the write lock in several (the waiting
threads' wake-ups and lock hand-overs cost more CPU than the wait: about 6 % of a
post's with four clients at once). On PostgreSQL posts are stored side by side in the
event loop's thread pool, and the buckets take their own short transaction first:
every post to a form updates that form's bucket row, whose lock must not be held
through an ingest.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from channels.webforms.guards import RATE_LIMIT
from channels.webforms.inline import TicketView, ingest_now
from config.settings import Settings
from ingest.accept import RawInput, queue_ingest, record_inputs, written_record
from ingest.db import connection_unit, unit_of_work
from ingest.form_refusals import Refused, record_refusal, spill_refused
from ingest.models import utcnow
from ingest.rate_buckets import Limit, Refusal, take
from ingest.raw_inputs import RawSpill, spill_input
from ingest.write_gate import edge_writes


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
    # Where posts are stored: one thread on SQLite, the event loop's pool (None) else.
    executor: Executor | None = field(init=False)

    def __post_init__(self) -> None:
        one_thread = ThreadPoolExecutor(1, "form-store") if self._one_writer() else None
        object.__setattr__(self, "executor", one_thread)

    async def stored(
        self, item: RawInput, buckets: list[Limit], sender: Sender
    ) -> TicketView | Refusal | None:
        """:meth:`store`, off the event loop."""
        work = partial(self.store, item, buckets, sender)
        return await asyncio.get_running_loop().run_in_executor(self.executor, work)

    def store(
        self, item: RawInput, buckets: list[Limit], sender: Sender
    ) -> TicketView | Refusal | None:
        """The ticket (None when the worker must make it), or the rate-limit refusal.

        Raises ``StoreUnavailable`` when nothing could be stored."""
        with edge_writes():
            if self._one_writer():
                # SQLite writes one transaction at a time anyway: buckets and post together.
                return self._admit(item, buckets, sender)
            return self._limited_then_admitted(item, buckets, sender)

    def _limited_then_admitted(
        self, item: RawInput, buckets: list[Limit], sender: Sender
    ) -> TicketView | Refusal | None:
        with connection_unit(self.sessions) as conn:
            refusal = self._limit(conn, buckets, sender)
        if refusal is not None:
            return refusal
        return self._admit(item, [], sender)

    def record(self, refused: Refused) -> None:
        """Keep a refused post; raises ``StoreUnavailable`` when it cannot be kept."""
        kept = spill_refused(refused, RawSpill.for_settings(self.settings))
        with edge_writes(), connection_unit(self.sessions) as conn:
            record_refusal(conn, kept)

    def _one_writer(self) -> bool:
        return bool(self.sessions.kw["bind"].dialect.name == "sqlite")

    def _admit(
        self, item: RawInput, buckets: list[Limit], sender: Sender
    ) -> TicketView | Refusal | None:
        with unit_of_work(self.sessions) as session:
            conn = session.connection()
            refusal = self._limit(conn, buckets, sender)
            if refusal is not None:
                return refusal
            # A large post's bytes go to the blob store once the limits let it in.
            item = spill_input(item, RawSpill.for_settings(self.settings))
            accepted = record_inputs(conn, [item])[0]
            written = written_record(session, item, accepted)
            inline = ingest_now(session, self.settings, accepted.inbound_id, written)
            if not inline.handled and not accepted.duplicate:
                queue_ingest(conn, [accepted.inbound_id])
            return inline.ticket

    def _limit(self, conn: Connection, buckets: list[Limit], sender: Sender) -> Refusal | None:
        if not buckets:
            return None
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
