"""Errors raised by the parsers."""

from __future__ import annotations


class NormalizeError(Exception):
    """Base of the errors raised by ``normalize``."""


class Unparseable(NormalizeError):
    """The input cannot become a message; ``reason`` is stored with the quarantined record."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
