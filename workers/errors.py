"""Errors raised by the workers."""

from __future__ import annotations


class WorkerError(Exception):
    """Base of the errors raised by ``workers``."""


class TransientError(WorkerError):
    """Worth retrying with backoff: the store or a network peer is briefly unavailable."""
