"""SMTP server (aiosmtpd): bound the client, verify the recipient, store durably, then answer.

Commits go through a ``BatchWriter`` thread, so a slow commit never blocks the
event loop that serves every other connection. Every reply is one of
``channels/replies.py``'s; aiosmtpd's own size replies are replaced by ours.

Long lines: RFC 5322 §2.1.1 caps a line at 998 characters, but real clients
send longer ones and Postfix accepts them (it splits past ``line_length_limit``
and rejoins them on delivery). A refusal would be permanent and bounce the mail,
so any line is accepted as long as the message fits the size limit, and the
bytes are stored as received (only the SMTP dot-stuffing of RFC 5321 §4.5.2 is
undone).
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Callable, Coroutine
from typing import Any, AnyStr

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from channels import replies
from channels.batch_writer import AcceptFailed, BatchWriter, WriterBusy
from channels.edge_metrics import EDGE_INTERNAL_ERRORS, refused
from channels.listen import listening_socket
from channels.recipients import accepts
from channels.smtp_limits import ClientLimiter, SmtpLimits
from ingest.errors import StoreUnavailable
from ingest.raw_inputs import RawInput, RawSpill
from normalize.dedupe import email_dedupe_key

log = logging.getLogger(__name__)

# ``<local@domain>`` with both sides dot-atoms (RFC 5321 §4.1.2), then the parameters:
# what nearly every client sends in MAIL FROM and RCPT TO.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_PATH = re.compile(rf"<({_ATEXT}(?:\.{_ATEXT})*@{_ATEXT}(?:\.{_ATEXT})*)>(?:[ \t]+([^(]*))?")

# aiosmtpd's own replies past the size limit (MAIL ... SIZE=, DATA) and for a
# line past its stream limit, which here is past the size limit too.
_AIOSMTPD_TOO_BIG = (b"552 Error", b"500 Line too long")
# aiosmtpd's replies to a client that does not speak SMTP right, counted as refusals.
_PROTOCOL_ERRORS = {
    b"500 ": "bad syntax",
    b"501 ": "bad syntax",
    b"502 ": "unknown command",
    b"503 ": "bad sequence",
    b"504 ": "unknown command",
}


class IngestHandler:
    """aiosmtpd handler: MAIL bounds the client, RCPT checks the recipient, DATA commits."""

    def __init__(
        self,
        sessions: sessionmaker[DbSession],
        recipients: tuple[str, ...],
        on_accepted: Callable[[], None] | None = None,
        limits: SmtpLimits | None = None,
        spill: RawSpill | None = None,
    ) -> None:
        limits = limits or SmtpLimits()
        self.writer = BatchWriter(sessions, max_pending=limits.max_pending_writes, spill=spill)
        self.sessions = sessions
        self.recipients = recipients
        self.on_accepted = on_accepted
        self.limits = limits
        self.clients = ClientLimiter(
            limits.max_connections_per_client, limits.max_messages_per_client_per_minute
        )

    def close(self) -> None:
        self.writer.close()

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.writer.saturated:
            log.warning("smtp writer queue full (%d waiting), answering 421", self.writer.pending)
            refused("email", "busy")
            return replies.TEMP_421_BUSY
        if not self.clients.take_message(client_of(session)):
            log.warning("smtp client %s over the message rate, answering 421", client_of(session))
            refused("email", "message-rate")
            return replies.TEMP_421_TOO_MANY_MESSAGES.format(
                limit=self.limits.max_messages_per_client_per_minute
            )
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return replies.OK_250_SENDER

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not accepts(address, self.recipients):
            log.info("smtp refused recipient %s", redact(address))
            refused("email", "unknown recipient")
            return replies.ERR_550_UNKNOWN_RECIPIENT
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return replies.OK_250_RECIPIENT

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not envelope.rcpt_tos:
            refused("email", "no valid recipients")
            return replies.ERR_554_NO_VALID_RECIPIENTS
        raw = envelope.original_content or b""
        meta: dict[str, Any] = {
            "mail_from": envelope.mail_from or "",
            "rcpt_tos": list(envelope.rcpt_tos),
            "peer": client_of(session),
            "helo": session.host_name,
        }
        try:
            accepted = await self.writer.accept(RawInput("email", email_dedupe_key(raw), raw, meta))
        except StoreUnavailable as exc:
            log.warning("smtp store unavailable, answering 451: %s", exc)
            return replies.TEMP_451_STORE_DOWN
        except WriterBusy as exc:
            log.warning("smtp writer busy, answering 451: %s", exc)
            refused("email", "busy")
            return replies.TEMP_451_BUSY
        except AcceptFailed:
            return replies.TEMP_451_INTERNAL_ERROR  # logged and counted by the writer
        if accepted.duplicate:
            log.info("smtp duplicate of inbound %s", accepted.inbound_id)
            return replies.OK_250_DUPLICATE.format(inbound_id=accepted.inbound_id)
        log.info("smtp accepted inbound %s (%d bytes)", accepted.inbound_id, len(raw))
        if self.on_accepted is not None:
            self.on_accepted()
        return replies.OK_250_QUEUED.format(inbound_id=accepted.inbound_id)

    async def handle_exception(self, error: Exception) -> str:
        """A bug in a hook: a temporary reply (aiosmtpd's is a permanent 500), logged, counted."""
        log.error("internal error in the smtp edge", exc_info=error)
        EDGE_INTERNAL_ERRORS.labels(channel="email").inc()
        return replies.TEMP_451_INTERNAL_ERROR


class EdgeSMTP(SMTP):
    """aiosmtpd's protocol with our limits: lines up to the size limit, per-client connections,
    our own ``552`` and ``421`` replies (a ``421`` closes the connection, RFC 5321 §3.8)."""

    def __init__(self, handler: IngestHandler, **kwargs: Any) -> None:
        self.limits = handler.limits
        # The stream limit is the longest line aiosmtpd reads; "+ 3" for the
        # transparency dot and CRLF of a line as long as the whole message.
        self.line_length_limit = handler.limits.max_message_bytes + 3
        self._client: str | None = None
        self._refused = False
        super().__init__(handler, data_size_limit=handler.limits.max_message_bytes, **kwargs)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's address parsing, with a fast path for a plain ``<local@domain>``.

        aiosmtpd parses every MAIL and RCPT argument with the e-mail header parser
        (``get_angle_addr``), about a fifth of its CPU per message; a plain path gives
        the same address and parameters without it. Anything else (quoted local
        parts, address literals, source routes, comments) takes aiosmtpd's path.
        """
        plain = _PLAIN_PATH.fullmatch(arg)
        if plain is None:
            return super()._getaddr(arg)
        address = plain.group(1)
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, plain.group(2) or ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._client is None and not self._refused:  # not again after STARTTLS
            peer = transport.get_extra_info("peername")
            client = str(peer[0]) if peer else "unknown"
            handler: IngestHandler = self.event_handler
            if handler.clients.open(client):
                self._client = client
            else:
                self._refused = True
                log.warning("smtp client %s has too many connections, answering 421", client)
                refused("email", "connections")
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._client is not None:
            handler: IngestHandler = self.event_handler
            handler.clients.close(self._client)
            self._client = None
        super().connection_lost(error)

    async def push(self, status: AnyStr) -> None:
        response = status.encode("utf-8") if isinstance(status, str) else bytes(status)
        if response.startswith(b"220 ") and self._refused:
            response = replies.TEMP_421_TOO_MANY_CONNECTIONS.format(
                limit=self.limits.max_connections_per_client
            ).encode()
        elif response.startswith(_AIOSMTPD_TOO_BIG):
            response = replies.ERR_552_TOO_BIG.format(limit=self.limits.max_message_bytes).encode()
            refused("email", "too big")
        elif response[:4] in _PROTOCOL_ERRORS:
            refused("email", _PROTOCOL_ERRORS[response[:4]])
        await super().push(response)
        if response.startswith(b"421 ") and self.transport is not None:
            self.transport.close()


class EdgeController(Controller):
    """aiosmtpd's controller serving ``EdgeSMTP`` on a socket bound before it starts."""

    handler: IngestHandler

    def __init__(self, handler: IngestHandler, listener: socket.socket, **kwargs: Any) -> None:
        host, port = listener.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self.listener = listener

    def factory(self) -> SMTP:
        return EdgeSMTP(self.handler, **self.SMTP_kwargs)

    def _create_server(self) -> Coroutine[Any, Any, asyncio.AbstractServer]:
        # aiosmtpd would bind here, in its thread, and tell a taken port only after its
        # ready timeout; the socket is bound already (``listening_socket``).
        return self.loop.create_server(self._factory_invoker, sock=self.listener)


def start_smtp_server(handler: IngestHandler, *, host: str, port: int, hostname: str) -> Controller:
    """Serve on a thread of its own, with ``handler.limits``; ``CannotListen`` at once when
    the address cannot be taken."""
    listener = listening_socket(
        "SMTP edge", host, port, settings="OMNIROUTE_SMTP_HOST, OMNIROUTE_SMTP_PORT", backlog=100
    )
    controller = EdgeController(
        handler,
        listener,
        server_hostname=hostname,
        ident="omniroute ESMTP",
        decode_data=False,
    )
    try:
        controller.start()
    except BaseException:
        listener.close()
        raise
    return controller


def client_of(session: Session) -> str:
    """The client's IP address as text."""
    return str(session.peer[0]) if session.peer else "unknown"


def redact(address: str) -> str:
    """``jane.doe@example.com`` → ``j***@example.com`` for logs."""
    local, at, domain = address.strip("<>").rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"
