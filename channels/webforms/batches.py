"""One thread that runs queued jobs in batches: what arrived while a batch ran is the next.

For a store that takes one writer at a time (SQLite), posts arriving together are
stored in one transaction: the transaction's begin and commit (the commit writes the
shared pages of every table and index touched), and the statements the posts can
share, are paid once a batch, not once a post.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

JobT = TypeVar("JobT")
ResultT = TypeVar("ResultT")

# A batch holds at most this many jobs: a post waits for at most this many others.
MAX_BATCH = 16


@dataclass(frozen=True, slots=True)
class _Queued(Generic[JobT, ResultT]):
    job: JobT
    future: Future[ResultT] = field(default_factory=Future)


class BatchThread(Generic[JobT, ResultT]):
    """Runs ``run_batch`` on one (daemon) thread over every job queued since the last batch.

    ``run_batch`` answers each job in order with its result or the exception it met;
    should it raise, every job of the batch gets that exception.
    """

    def __init__(
        self,
        name: str,
        run_batch: Callable[[Sequence[JobT]], Sequence[ResultT | BaseException]],
    ) -> None:
        self._run_batch = run_batch
        self._queue: queue.SimpleQueue[_Queued[JobT, ResultT]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: JobT) -> Future[ResultT]:
        queued: _Queued[JobT, ResultT] = _Queued(job)
        self._queue.put(queued)
        return queued.future

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._settle(batch)

    def _settle(self, batch: list[_Queued[JobT, ResultT]]) -> None:
        try:
            outcomes = self._run_batch([queued.job for queued in batch])
        except BaseException as exc:  # handed to every waiting caller
            for queued in batch:
                queued.future.set_exception(exc)
            return
        for queued, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                queued.future.set_exception(outcome)
            else:
                queued.future.set_result(outcome)
