"""A web form through every real part: HTTP → store → inline ingest → Redis → workers → a
real SMTP relay; the acknowledgement's follow-up link opens the ticket's page, and an
agent's answer reaches the customer's inbox and that page."""

from __future__ import annotations

import re
from email.message import Message

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from channels.web import create_app
from config.form_settings import FormSettings
from config.settings import Settings
from tests.channels.webforms.support import JSON, FormSite, contact
from tests.servers import http_server, smtp_sink, wait_until
from tests.stack import running_stack
from tests.tokens import bearer, issue

pytestmark = pytest.mark.integration


def text_of(mail: Message) -> str:
    """The decoded text/plain body of a mail as the relay received it."""
    for part in mail.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/plain part")


def test_form_to_ticket_acknowledged_with_a_link_then_answered_by_mail_and_on_the_page(
    settings: Settings, sessions: sessionmaker[Session], broker_url: str
) -> None:
    with smtp_sink() as (sink, sink_port):
        # Given omniroute's parts and its HTTP app, on the real store and broker
        settings = settings.model_copy(
            update={"outbound_smtp_url": f"smtp://127.0.0.1:{sink_port}"}
        )
        with running_stack(settings, sessions, broker_url) as stack:
            app = create_app(
                sessions,
                on_work=stack.runtime.outbox_signal.set,
                settings=settings,
                form_limits=FormSettings(min_seconds=0),
            )
            with http_server(app) as url, httpx.Client(base_url=url) as http:
                site = FormSite(url, http)
                # When a customer sends the contact form
                answer = site.post(contact(), headers=JSON)
                assert answer.status_code == 201
                number = answer.json()["ticket"]["number"]
                # Then the acknowledgement reaches the address the form gave, with a link
                wait_until(lambda: len(sink.messages) == 1, what="acknowledgement")
                _, rcpt_tos, ack = sink.messages[0]
                assert rcpt_tos == ["jane@example.org"]
                assert f"[Ticket #{number}]" in str(ack["Subject"])
                link = re.search(r"/t/[0-9a-f.]+", text_of(ack))
                assert link is not None
                assert f'id="ticket-number">{number}<' in http.get(link.group(0)).text
                # When an agent answers through the API
                reply = http.post(
                    f"/api/tickets/{number}/replies",
                    json={"body": "Please reset it from the login page.", "author": "alice"},
                    headers=bearer(issue(sessions)),
                )
                assert reply.status_code == 201
                # Then the answer is mailed to the customer and shows on the page
                wait_until(lambda: len(sink.messages) == 2, what="the agent's reply")
                _, rcpt_tos, mailed = sink.messages[1]
                assert rcpt_tos == ["jane@example.org"]
                assert "Please reset it" in text_of(mailed)
                assert "Please reset it from the login page." in http.get(link.group(0)).text
