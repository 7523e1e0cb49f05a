"""A real auto-responder plays ping-pong with omniroute over SMTP: the loop must die.

The responder answers every mail it receives, sent back through omniroute's SMTP
edge, the way a badly configured vacation responder does. omniroute must not
answer its answers: acknowledgements stay within the per-recipient limit and
the whole exchange stays on one ticket.
"""

from __future__ import annotations

import smtplib
import threading
import time
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.utils import make_msgid
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.models import AutomatedSend, InboundRecord, Ticket
from tests.mail import customer_mail
from tests.servers import free_port
from tests.stack import running_stack

pytestmark = pytest.mark.integration

MAX_REPLIES = 25  # the responder stops by itself after this many, whatever happens


class AutoResponder:
    """An SMTP server for bot@robot.test that replies to everything it receives."""

    def __init__(self, reply_port: int, *, marks_itself: bool) -> None:
        self.reply_port = reply_port
        self.marks_itself = marks_itself
        self.received = 0
        self.replied = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        incoming = message_from_bytes(envelope.content)
        with self.lock:
            self.received += 1
            if self.replied >= MAX_REPLIES:
                return "250 OK"
            self.replied += 1
        threading.Thread(target=self._reply, args=(incoming,), daemon=True).start()
        return "250 OK"

    def _reply(self, incoming: Message) -> None:
        reply = EmailMessage()
        reply["From"] = "bot@robot.test"
        reply["To"] = "support@example.com"
        reply["Subject"] = f"Auto: {incoming['Subject']}"
        reply["Message-ID"] = make_msgid(domain="robot.test")
        reply["In-Reply-To"] = str(incoming["Message-ID"])
        if self.marks_itself:
            reply["Auto-Submitted"] = "auto-replied"
        reply.set_content("I am away. This is an automatic answer.")
        with smtplib.SMTP("127.0.0.1", self.reply_port) as client:
            client.send_message(reply)


def quiet(sessions: sessionmaker[Session], responder: AutoResponder, for_seconds: float) -> None:
    """Wait until nothing new happens for ``for_seconds`` (bounded at 60 s)."""
    deadline = time.monotonic() + 60
    last = (-1, -1)
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        with sessions() as session:
            pending = session.execute(
                select(func.count()).where(InboundRecord.status == "pending")
            ).scalar_one()
            total = session.execute(select(func.count()).select_from(InboundRecord)).scalar_one()
        now = (int(total), responder.received)
        if now != last or pending:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= for_seconds:
            return
        time.sleep(0.1)
    raise TimeoutError("the exchange never went quiet")


@pytest.mark.parametrize("marks_itself", [False, True], ids=["unmarked", "rfc3834"])
def test_auto_responder_ping_pong_stays_on_one_ticket_within_the_limit(
    settings: Settings, sessions: sessionmaker[Session], broker_url: str, marks_itself: bool
) -> None:
    responder_port = free_port()
    with_relay = settings.model_copy(
        update={"outbound_smtp_url": f"smtp://127.0.0.1:{responder_port}"}
    )
    with running_stack(with_relay, sessions, broker_url) as stack:
        responder = AutoResponder(stack.smtp_port, marks_itself=marks_itself)
        controller = Controller(responder, hostname="127.0.0.1", port=responder_port)
        controller.start()
        try:
            # Given a mail from an address whose mailbox answers everything automatically
            first = customer_mail(sender="bot@robot.test", subject="Order status")
            with smtplib.SMTP("127.0.0.1", stack.smtp_port) as client:
                client.send_message(first)
            # When omniroute and the responder are left to it
            quiet(sessions, responder, for_seconds=2.0)
        finally:
            controller.stop()
    # Then one ticket holds the exchange, and acknowledgements stayed within the limit
    with sessions() as session:
        tickets = session.execute(select(func.count()).select_from(Ticket)).scalar_one()
        sent = session.execute(
            select(func.count()).where(AutomatedSend.status == "sent")
        ).scalar_one()
    assert tickets == 1
    assert sent <= settings.automated_sends_per_hour
    assert responder.received == sent
    assert responder.replied < MAX_REPLIES
