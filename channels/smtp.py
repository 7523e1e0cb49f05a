"""SMTP server (aiosmtpd): verify the recipient, bound the size, store durably, then answer.

Commits go through a ``BatchWriter`` thread, so a slow commit never blocks the
event loop that serves every other connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from channels import replies
from channels.batch_writer import BatchWriter
from channels.recipients import accepts
from ingest.accept import RawInput
from ingest.errors import StoreUnavailable
from ingest.refusals import record_refusal
from normalize.dedupe import email_dedupe_key

log = logging.getLogger(__name__)


class IngestHandler:
    """aiosmtpd handler: RCPT checks the recipient, DATA commits the raw message."""

    def __init__(
        self,
        sessions: sessionmaker[DbSession],
        recipients: tuple[str, ...],
        on_accepted: Callable[[], None] | None = None,
    ) -> None:
        self.writer = BatchWriter(sessions)
        self.sessions = sessions
        self.recipients = recipients
        self.on_accepted = on_accepted

    def close(self) -> None:
        self.writer.close()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not accepts(address, self.recipients):
            log.info("smtp refused recipient %s", redact(address))
            await asyncio.to_thread(record_refusal, self.sessions, "email", "unknown recipient")
            return replies.ERR_550_UNKNOWN_RECIPIENT
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return replies.OK_250_RECIPIENT

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not envelope.rcpt_tos:
            return replies.ERR_554_NO_VALID_RECIPIENTS
        raw = envelope.original_content or b""
        meta: dict[str, Any] = {
            "mail_from": envelope.mail_from or "",
            "rcpt_tos": list(envelope.rcpt_tos),
            "peer": str(session.peer[0]) if session.peer else None,
            "helo": session.host_name,
        }
        try:
            accepted = await self.writer.accept(RawInput("email", email_dedupe_key(raw), raw, meta))
        except StoreUnavailable as exc:
            log.warning("smtp store unavailable, answering 451: %s", exc)
            return replies.TEMP_451_STORE_DOWN
        if accepted.duplicate:
            log.info("smtp duplicate of inbound %s", accepted.inbound_id)
            return replies.OK_250_DUPLICATE.format(inbound_id=accepted.inbound_id)
        log.info("smtp accepted inbound %s (%d bytes)", accepted.inbound_id, len(raw))
        if self.on_accepted is not None:
            self.on_accepted()
        return replies.OK_250_QUEUED.format(inbound_id=accepted.inbound_id)


def start_smtp_server(
    handler: IngestHandler, *, host: str, port: int, max_bytes: int, hostname: str
) -> Controller:
    """Serve on a thread of its own; aiosmtpd answers 552 past ``max_bytes``."""
    controller = Controller(
        handler,
        hostname=host,
        port=port,
        data_size_limit=max_bytes,
        server_hostname=hostname,
        ident="omniroute ESMTP",
        decode_data=False,
    )
    controller.start()
    return controller


def redact(address: str) -> str:
    """``jane.doe@example.com`` → ``j***@example.com`` for logs."""
    local, at, domain = address.strip("<>").rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"
