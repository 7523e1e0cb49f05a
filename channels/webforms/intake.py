"""Storing a post that passed the guards: rate limits, the durable accept, the inline ingest.

One transaction, in one worker thread: the rate-limit buckets (a post over a limit
is refused, recorded, and nothing of it stored), the raw submission with its dedupe
key, then the inline ingest that makes the ticket. Should the ingest stop (fail, or
wait for something), the transaction is undone and the post stored again with its
ingest behind a savepoint, which is rolled back and the worker's ``ingest`` queued in
its place; either way the raw submission is committed before the answer is sent.

Posts are edge writes (``ingest.write_gate``): on SQLite, which takes one writer at
a time, they go before the workers' transactions, and a process's posts queue for one
store thread of their own rather than for the write lock in several (the waiting
threads' wake-ups and lock hand-overs cost more CPU than the wait: about 6 % of a
post's with four clients at once). That thread stores the posts that arrived together
in one transaction (``batches``): their buckets are taken and their raw submissions
inserted with one statement each, as if one after the other; when an ingest stops,
the batch is stored again with each ingest behind a savepoint of its own. On PostgreSQL
posts are stored side by side in the event loop's thread pool, and the buckets take
their own short transaction first: every post to a form updates that form's bucket
row, whose lock must not be held through an ingest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from channels.webforms.batches import BatchThread
from channels.webforms.guards import RATE_LIMIT
from channels.webforms.inline import TicketView, ingest_now
from config.settings import Settings
from ingest.accept import queue_ingest, record_inputs, written_record
from ingest.db import connection_unit, is_store_trouble, unit_of_work
from ingest.form_refusals import Refused, record_refusal, spill_refused
from ingest.models import utcnow
from ingest.queued_work import QueuedWork
from ingest.rate_buckets import Limit, Refusal, take_each
from ingest.raw_inputs import RawInput, RawSpill, spill_input
from ingest.write_gate import edge_writes

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sender:
    """Who posted, for the refusal record: the form, client address and email."""

    form: str
    client_ip: str
    email: str


@dataclass(frozen=True, slots=True)
class Post:
    """A post that passed the guards, to be stored."""

    item: RawInput
    buckets: list[Limit]
    sender: Sender


Stored = TicketView | Refusal | None


@dataclass(frozen=True)
class Intake:
    sessions: sessionmaker[Session]
    settings: Settings
    # Where posts are stored: one thread, in batches, on SQLite; the event loop's pool
    # (None) else.
    batches: BatchThread[Post, Stored] | None = field(init=False)

    def __post_init__(self) -> None:
        one_thread = BatchThread("form-store", self.store_all) if self._one_writer() else None
        object.__setattr__(self, "batches", one_thread)

    async def stored(self, item: RawInput, buckets: list[Limit], sender: Sender) -> Stored:
        """:meth:`store`, off the event loop."""
        if self.batches is not None:
            return await asyncio.wrap_future(self.batches.submit(Post(item, buckets, sender)))
        work = partial(self.store, item, buckets, sender)
        return await asyncio.get_running_loop().run_in_executor(None, work)

    def store(self, item: RawInput, buckets: list[Limit], sender: Sender) -> Stored:
        """The ticket (None when the worker must make it), or the rate-limit refusal.

        Raises ``StoreUnavailable`` when nothing could be stored."""
        [outcome] = self.store_all([Post(item, buckets, sender)])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def store_all(self, posts: Sequence[Post]) -> list[Stored | BaseException]:
        """Each post's :meth:`store` outcome, or the error it met. On SQLite several posts
        share one transaction; should a bug spoil it, they are stored again one by one,
        so it spares the others. Raises what the shared transaction met
        (``StoreUnavailable``): then none of them is stored."""
        with edge_writes():
            if not self._one_writer():
                return [self._alone(self._limited_then_admitted, post) for post in posts]
            try:
                return list(self._together(posts))
            except Exception as exc:
                if is_store_trouble(exc):
                    raise
                if len(posts) == 1:
                    return [exc]
                log.exception("%d posts stored together met a bug; storing each alone", len(posts))
            return [self._alone(self._admit, post) for post in posts]

    @staticmethod
    def _alone(store: Callable[[Post], Stored], post: Post) -> Stored | BaseException:
        try:
            return store(post)
        except Exception as exc:
            return exc

    def _limited_then_admitted(self, post: Post) -> Stored:
        with connection_unit(self.sessions) as conn:
            [refusal] = self._limit(conn, [post])
        if refusal is not None:
            return refusal
        return self._admit(Post(post.item, [], post.sender))

    def record(self, refused: Refused) -> None:
        """Keep a refused post; raises ``StoreUnavailable`` when it cannot be kept."""
        kept = spill_refused(refused, RawSpill.for_settings(self.settings))
        with edge_writes(), connection_unit(self.sessions) as conn:
            record_refusal(conn, kept)

    def _one_writer(self) -> bool:
        return bool(self.sessions.kw["bind"].dialect.name == "sqlite")

    def _admit(self, post: Post) -> Stored:
        [stored] = self._together([post])
        return stored

    def _together(self, posts: Sequence[Post]) -> list[Stored]:
        """``posts`` limited, accepted and ingested in one transaction.

        The ingests run straight in it: a savepoint each, taken and released, cost about
        a tenth of a post's store work, for a stop that hardly ever comes. Should one
        stop (a deferral, a bug), the transaction is undone and the posts stored again,
        each ingest behind a savepoint of its own: that one is left to the worker, and
        the others stand."""
        try:
            with unit_of_work(self.sessions) as session:
                return self._admit_all(session, posts, savepoints=False)
        except Exception as exc:
            if is_store_trouble(exc):
                raise
            log.debug("an inline ingest stopped (%r); storing again behind savepoints", exc)
        with unit_of_work(self.sessions) as session:
            return self._admit_all(session, posts, savepoints=True)

    def _admit_all(
        self, session: Session, posts: Sequence[Post], *, savepoints: bool
    ) -> list[Stored]:
        """Limit, accept and ingest ``posts`` in ``session``'s transaction, in a few
        statements for them all: the buckets are taken together, the raw submissions
        inserted together, and the work their ingests leave to the workers (triage,
        acknowledgement, follow-up) queued together; with ``savepoints`` each ingest
        runs behind one of its own, else whatever stops one is raised."""
        conn = session.connection()
        outcomes: list[Stored] = list(self._limit(conn, posts))
        admitted = [n for n, refusal in enumerate(outcomes) if refusal is None]
        if not admitted:
            return outcomes
        # A large post's bytes go to the blob store once the limits let it in.
        spill = RawSpill.for_settings(self.settings)
        items = [spill_input(posts[n].item, spill) for n in admitted]
        to_queue: list[int] = []
        follows = QueuedWork(gathered=[])
        for n, item, accepted in zip(admitted, items, record_inputs(conn, items), strict=True):
            written = written_record(session, item, accepted)
            inline = ingest_now(
                session, self.settings, accepted.inbound_id, written, follows, savepoint=savepoints
            )
            if not inline.handled and not accepted.duplicate:
                to_queue.append(accepted.inbound_id)
            outcomes[n] = inline.ticket
        queue_ingest(conn, to_queue)
        follows.write(session)
        return outcomes

    def _limit(self, conn: Connection, posts: Sequence[Post]) -> list[Refusal | None]:
        refusals = take_each(conn, [post.buckets for post in posts], utcnow())
        for post, refusal in zip(posts, refusals, strict=True):
            if refusal is None:
                continue
            # The sender is told when to try again, so the post itself is not kept.
            sender = post.sender
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
        return refusals
