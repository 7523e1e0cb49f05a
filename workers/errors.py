"""Errors raised by the workers."""

from __future__ import annotations


class WorkerError(Exception):
    """Base of the errors raised by ``workers``."""


class TransientError(WorkerError):
    """Worth retrying with backoff: the store or a network peer is briefly unavailable.

    ``retry_after_seconds``: the peer said when to come back (a rate limit's
    ``Retry-After``); the retry waits that long instead of the usual backoff."""

    def __init__(self, message: str = "", retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
