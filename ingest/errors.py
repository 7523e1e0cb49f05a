"""Errors raised by the store and the accept path."""

from __future__ import annotations


class IngestError(Exception):
    """Base of the errors raised by ``ingest``."""


class StoreUnavailable(IngestError):
    """The store cannot commit now; the edge answers "try again later" (SMTP 451, HTTP 503)."""


class SourceUnavailable(IngestError):
    """A channel's API that ingest reads from (Slack's) is briefly unavailable; retried."""
