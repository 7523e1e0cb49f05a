"""One writer thread per edge process: accepts queue up and commit together.

Many SMTP sessions committing at once would fight over the store's write lock
(SQLite has one; PostgreSQL pays a commit each). Instead the event loop hands
each input to this thread, which commits everything waiting in one transaction
and only then resolves each sender's future, so every ``250`` still follows its
own commit. A thread without an event loop (bolt's dispatch of a Slack event)
waits on ``accept_blocking`` instead.

Failures are told apart for the edge (see ``channels/replies.py``):
``StoreUnavailable`` (the store is down or locked), ``WriterBusy`` (more inputs
wait than the bound allows) and ``AcceptFailed`` (a bug: logged with its
traceback and counted, never reported as an outage).

A large input's bytes go to the blob store before it joins the queue, on the
caller's side (a thread of its own for an event loop's input): the writer thread
commits rows only, so small input in the same batch never waits on a blob write.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from channels.edge_metrics import EDGE_INTERNAL_ERRORS
from ingest.accept import Accepted, accept_batch
from ingest.db import kept_connection
from ingest.errors import StoreUnavailable
from ingest.raw_inputs import RawInput, RawSpill, spill_input
from ingest.write_gate import edge_writes

log = logging.getLogger(__name__)

MAX_BATCH = 64
MAX_PENDING = 1000


class WriterBusy(Exception):
    """More inputs wait for the writer than its bound; the sender should retry later."""


class AcceptFailed(Exception):
    """Accepting the input failed through a bug (logged with its traceback); not stored."""


@dataclass(frozen=True, slots=True)
class _Job:
    item: RawInput
    future: asyncio.Future[Accepted] | concurrent.futures.Future[Accepted]
    # None: a blocking caller's thread-safe future, settled from the writer thread.
    loop: asyncio.AbstractEventLoop | None


class BatchWriter:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        max_batch: int = MAX_BATCH,
        max_pending: int = MAX_PENDING,
        spill: RawSpill | None = None,
    ) -> None:
        self.sessions = sessions
        self.spill = spill
        self.max_batch = max_batch
        self.max_pending = max_pending
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="accept-writer", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Inputs handed to the writer and not yet settled."""
        return self._pending

    @property
    def saturated(self) -> bool:
        return self._pending >= self.max_pending

    async def accept(self, item: RawInput) -> Accepted:
        """Commit ``item``.

        Raises ``StoreUnavailable`` when the store (or the blob store, for a large
        input) cannot take it, ``WriterBusy`` when ``max_pending`` inputs already
        wait, ``AcceptFailed`` on a bug.
        """
        if self.spill is not None and self.spill.wants(item.raw):
            item = await asyncio.to_thread(spill_input, item, self.spill)
        with self._pending_lock:
            if self._pending >= self.max_pending:
                raise WriterBusy(f"{self._pending} inputs already wait for the store")
            self._pending += 1
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Accepted] = loop.create_future()
        # Counted until the writer settles it, even if the sender hangs up meanwhile.
        self._jobs.put(_Job(item, future, loop))
        return await future

    def accept_blocking(self, item: RawInput) -> Accepted:
        """``accept`` for a thread without an event loop; blocks until committed."""
        item = spill_input(item, self.spill)
        with self._pending_lock:
            if self._pending >= self.max_pending:
                raise WriterBusy(f"{self._pending} inputs already wait for the store")
            self._pending += 1
        future: concurrent.futures.Future[Accepted] = concurrent.futures.Future()
        self._jobs.put(_Job(item, future, None))
        return future.result()

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        with edge_writes(), kept_connection(self.sessions):
            self._drain()

    def _drain(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._commit(batch)
                    return
                batch.append(job)
            self._commit(batch)

    def _commit(self, batch: list[_Job]) -> None:
        outcomes: list[Accepted | Exception]
        try:
            outcomes = list(accept_batch(self.sessions, [job.item for job in batch]))
        except StoreUnavailable as exc:
            outcomes = [exc] * len(batch)
        except Exception:
            if len(batch) > 1:
                # One bad input must not fail its neighbours: commit them one by one.
                for job in batch:
                    self._commit([job])
                return
            item = batch[0].item
            log.exception(
                "internal error accepting %s input %s; the sender is told to retry",
                item.channel,
                item.dedupe_key,
            )
            EDGE_INTERNAL_ERRORS.labels(channel=item.channel).inc()
            outcomes = [AcceptFailed("internal error; see the log")]
        with self._pending_lock:
            self._pending -= len(batch)
        _settle(batch, outcomes)


def _settle(batch: list[_Job], outcomes: list[Accepted | Exception]) -> None:
    """Hand results back to each event loop with one wake-up per loop, not one per job."""
    by_loop: dict[asyncio.AbstractEventLoop | None, list[tuple[_Job, Accepted | Exception]]] = {}
    for job, outcome in zip(batch, outcomes, strict=True):
        by_loop.setdefault(job.loop, []).append((job, outcome))
    for loop, pairs in by_loop.items():
        if loop is None:
            _set_all(pairs)  # thread-safe futures of blocking callers
        else:
            loop.call_soon_threadsafe(_set_all, pairs)


def _set_all(pairs: list[tuple[_Job, Accepted | Exception]]) -> None:
    for job, outcome in pairs:
        if job.future.done():
            continue
        if isinstance(outcome, Exception):
            job.future.set_exception(outcome)
        else:
            job.future.set_result(outcome)
