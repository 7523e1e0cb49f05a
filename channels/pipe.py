"""The MTA pipe edge: one raw RFC 822 message from a file or stdin (``omniroute ingest``).

An MTA delivering to a command reads the exit status as sysexits(3): 0 delivered,
75 (EX_TEMPFAIL) try again later, 65 (EX_DATAERR) bounce. Like the SMTP edge it
only stores the raw bytes with their dedupe key; workers do the rest. The bytes
are stored as read: no line length limit (the MTA already took the message), no
rewrapping. A bug in the accept path exits 75 with the traceback logged, so the
mail waits in the MTA's queue instead of bouncing (see ``channels/replies.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from channels import replies
from config.settings import Settings
from ingest.accept import accept_raw
from ingest.db import create_store_engine, session_factory
from ingest.errors import StoreUnavailable
from ingest.raw_inputs import RawSpill
from ingest.schema import UPGRADE, is_schema_missing
from normalize.dedupe import email_dedupe_key

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PipeResult:
    exit_code: int
    message: str


def accept_piped(settings: Settings, raw: bytes) -> PipeResult:
    """Store one piped message; the result's exit code is what the MTA should see."""
    if len(raw) > settings.smtp_max_message_bytes:
        return PipeResult(
            replies.EXIT_DATAERR, f"message exceeds {settings.smtp_max_message_bytes} bytes"
        )
    engine = create_store_engine(settings.resolved_database_url, statement_timeout_ms=10_000)
    try:
        accepted = accept_raw(
            session_factory(engine),
            channel="email",
            dedupe_key=email_dedupe_key(raw),
            raw=raw,
            envelope={"source": "pipe"},
            spill=RawSpill.for_settings(settings),
        )
    except StoreUnavailable as exc:
        return PipeResult(replies.EXIT_TEMPFAIL, f"store unavailable, try again later: {exc}")
    except Exception as exc:
        if is_schema_missing(exc):  # a release deployed before its migration: ours to fix
            return PipeResult(
                replies.EXIT_TEMPFAIL, f"the store lacks what this omniroute needs: {UPGRADE}"
            )
        log.exception("internal error accepting a piped message; the MTA is told to retry")
        return PipeResult(replies.EXIT_TEMPFAIL, "internal error, not stored; try again later")
    finally:
        engine.dispose()
    state = "duplicate of" if accepted.duplicate else "accepted as"
    return PipeResult(replies.EXIT_OK, f"{state} inbound {accepted.inbound_id}")
