"""Put test mail through the durable accept, as the SMTP edge does for support@example.com."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from ingest.accept import Accepted, accept_raw
from ingest.raw_inputs import RawSpill
from normalize.dedupe import email_dedupe_key


def accept_mail(
    sessions: sessionmaker[Session], raw: bytes, spill: RawSpill | None = None
) -> Accepted:
    """Commit ``raw`` as mail to support@example.com, with its ingest queued."""
    return accept_raw(
        sessions,
        channel="email",
        dedupe_key=email_dedupe_key(raw),
        raw=raw,
        envelope={"rcpt_tos": ["support@example.com"]},
        spill=spill,
    )
