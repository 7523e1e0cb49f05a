"""Control-flow signals of ingest, kept apart from errors: nothing went wrong."""

from __future__ import annotations


class Defer(Exception):
    """Process this inbound record again later: what it answers is stored but not
    processed yet, so threading it now could split the conversation."""

    def __init__(self, seconds: float, reason: str) -> None:
        self.seconds = seconds
        self.reason = reason
        super().__init__(reason)
