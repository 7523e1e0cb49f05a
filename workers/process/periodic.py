"""A background thread that runs one pass of some work now and then, until stopped.

The scheduler's sweeps (redelivery, SLA, retraining, housekeeping) are each a pass and
an interval. A pass that meets an outage is logged as a warning and simply runs again
next time; any other error is a bug, logged with its traceback, and the loop goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from ingest.errors import StoreUnavailable

log = logging.getLogger(__name__)

Outages = Mapping[str, tuple[type[BaseException], ...]]


class Periodic:
    """Runs ``run_pass`` after ``first`` seconds (default ``every``), then every ``every``.

    ``outages`` names, besides the store, what else may be unavailable for a while and
    the errors that say so (``{"broker": BROKER_ERRORS}``)."""

    def __init__(
        self, what: str, every: float, *, first: float | None = None, outages: Outages | None = None
    ) -> None:
        self.what = what
        self.every = every
        self.first = every if first is None else first
        self.outages: Outages = {"store": (StoreUnavailable,), **(outages or {})}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=what.replace(" ", "-"), daemon=True)

    def run_pass(self) -> object:
        raise NotImplementedError

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        wait = self.first
        while not self._stop.wait(wait):
            wait = self.every
            try:
                self.run_pass()
            except Exception as exc:
                self._log(exc)

    def _log(self, exc: Exception) -> None:
        for name, errors in self.outages.items():
            if isinstance(exc, errors):
                log.warning("%s: %s unavailable: %s", self.what, name, exc)
                return
        log.exception("%s pass failed", self.what)
