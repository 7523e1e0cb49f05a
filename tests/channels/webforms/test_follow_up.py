"""The signed follow-up page: the customer-visible conversation, replies on the web channel,
agents' answers by mail and on the page; expired, tampered and revoked links refused."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.form_settings import FormSettings
from config.settings import Settings
from ingest.agent_reply import ReplyRequest, record_reply
from ingest.db import unit_of_work
from ingest.models import Message, Ticket
from normalize.form_tokens import follow_up_token
from tests.channels.webforms.support import JSON, FormSite, contact, form_site
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.workers.test_pipeline import send
from workers.cli import main


@pytest.fixture
def pipe(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Pipeline]:
    pipeline = Pipeline(settings, sessions)
    yield pipeline
    pipeline.close()


def submitted(site: FormSite) -> tuple[int, str]:
    answer = site.post(contact(), headers=JSON).json()
    return answer["ticket"]["number"], answer["follow_up_url"].removeprefix(site.url)


def test_the_link_shows_the_conversation_and_a_reply_joins_the_same_ticket(
    site: FormSite, sessions: sessionmaker[Session]
) -> None:
    # Given jane's ticket from the form
    number, link = submitted(site)
    # When she opens the follow-up link
    page = site.http.get(link)
    # Then she sees her ticket and her message
    assert page.status_code == 200
    assert f'id="ticket-number">{number}<' in page.text
    assert "The login page says my password is wrong." in page.text
    # When she adds to it through the page
    reply = site.http.post(link, data={"message": "It also fails on my phone."})
    # Then she is sent back to the page, which shows the new message
    assert reply.status_code == 303
    again = site.http.get(reply.headers["location"])
    assert "It also fails on my phone." in again.text and "was added" in again.text
    # And it is a second web message on the same ticket, threaded by its conversation
    with sessions() as session:
        messages = (
            session.execute(
                select(Message).where(Message.direction == "inbound").order_by(Message.id)
            )
            .scalars()
            .all()
        )
        assert [(m.ticket_id, m.channel, m.thread_signal) for m in messages] == [
            (number, "web", "new-ticket"),
            (number, "web", "conversation"),
        ]
        assert messages[1].subject == "Re: Cannot log in"
        assert len(session.execute(select(Ticket)).scalars().all()) == 1


def test_a_double_clicked_follow_up_is_one_message(
    site: FormSite, sessions: sessionmaker[Session]
) -> None:
    _, link = submitted(site)
    for _ in range(2):
        assert site.http.post(link, data={"message": "Any news?"}, headers=JSON).status_code == 201
    with sessions() as session:
        bodies = session.execute(select(Message.body_text)).scalars().all()
    assert bodies.count("Any news?") == 1


def test_an_empty_follow_up_is_422(site: FormSite) -> None:
    _, link = submitted(site)
    response = site.http.post(link, data={"message": "  "})
    assert response.status_code == 422
    assert 'id="error-message"' in response.text


def test_an_agents_reply_is_mailed_to_the_forms_address_and_shown_on_the_page(
    site: FormSite, sessions: sessionmaker[Session], pipe: Pipeline
) -> None:
    # Given jane's ticket from the form, acknowledged by the workers
    number, link = submitted(site)
    pipe.drain()
    # When an agent replies, with an internal note beside it
    with unit_of_work(sessions) as session:
        assert record_reply(session, number, ReplyRequest(body="Reset it here.", author="Sam"))
        ticket = session.get(Ticket, number)
        assert ticket is not None
        session.add(
            Message(
                ticket_id=number,
                direction="outbound",
                kind="note",
                channel="web",
                body_text="Internal: customer is on the old plan",
            )
        )
    pipe.drain()
    # Then the acknowledgement and the reply were mailed to the address the form gave
    mails = [(m["Subject"], rcpts) for m, rcpts in pipe.transport.sent]
    assert len(mails) == 2 and all(rcpts == ["jane@example.org"] for _, rcpts in mails)
    ack, reply = (m for m, _ in pipe.transport.sent)
    # And the acknowledgement carries a follow-up link
    assert "/t/" in ack.get_content()
    assert "Reset it here." in reply.get_content()
    with sessions() as session:
        sent = session.execute(select(Message).where(Message.kind == "reply")).scalar_one()
        assert (sent.channel, sent.delivery_state) == ("web", "sent")
    # And the page shows the reply, never the internal note
    page = site.http.get(link).text
    assert "Reset it here." in page
    assert "Internal" not in page


def test_a_tampered_link_is_404(site: FormSite) -> None:
    _, link = submitted(site)
    number, rest = link.removeprefix("/t/").split(".", 1)
    other = f"/t/{int(number) + 1}.{rest}"
    assert site.http.get(other).status_code == 404
    assert site.http.post(other, data={"message": "hi"}).status_code == 404
    assert site.http.get(link[:-1] + ("0" if link[-1] != "0" else "1")).status_code == 404


def test_an_expired_link_is_410(site: FormSite, settings: Settings) -> None:
    number, _ = submitted(site)
    now = int(time.time())
    expired = follow_up_token(settings.signing_key, number, now - 100, now - 10)
    response = site.http.get(f"/t/{expired}")
    assert response.status_code == 410
    assert site.http.post(f"/t/{expired}", data={"message": "hi"}).status_code == 410


def test_a_revoked_ticket_refuses_its_earlier_links(
    site: FormSite, settings: Settings, database_url: str
) -> None:
    # Given a ticket's follow-up link
    number, link = submitted(site)
    # When its links are revoked from the command line
    env = {"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(settings.data_dir)}
    result = CliRunner().invoke(main, ["forms", "revoke", str(number)], env=env)
    assert result.exit_code == 0, result.output
    # Then the link no longer opens, and a link issued later does
    assert site.http.get(link).status_code == 410
    later = int(time.time()) + 2
    fresh = follow_up_token(settings.signing_key, number, later, later + 3600)
    assert site.http.get(f"/t/{fresh}").status_code == 200


def test_a_reply_to_the_acknowledgement_mail_threads_onto_the_web_ticket(
    site: FormSite, sessions: sessionmaker[Session], pipe: Pipeline
) -> None:
    # Given jane's web ticket, acknowledged by mail
    number, _ = submitted(site)
    pipe.drain()
    ((ack, _),) = pipe.transport.sent
    # When she answers that mail from her mail client
    answer = customer_mail(
        sender="Jane Doe <jane@example.org>",
        subject=f"Re: {ack['Subject']}",
        body="Here is the screenshot you asked for.",
        in_reply_to=ack["Message-ID"],
    )
    send(sessions, bytes(answer))
    pipe.drain()
    # Then it is an email message on the same ticket
    with sessions() as session:
        last = (
            session.execute(
                select(Message).where(Message.direction == "inbound").order_by(Message.id.desc())
            )
            .scalars()
            .first()
        )
        assert last is not None
        assert (last.ticket_id, last.channel) == (number, "email")
        assert len(session.execute(select(Ticket)).scalars().all()) == 1


def test_past_the_limit_a_follow_up_is_429(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given a ticket whose page takes one message an hour
    limits = FormSettings(min_seconds=0, email_burst=1, email_per_hour=1)
    with form_site(sessions, settings, limits) as site:
        _, link = submitted(site)
        first = site.http.post(link, data={"message": "One"}, headers=JSON)
        second = site.http.post(link, data={"message": "Two"}, headers=JSON)
    # Then the second waits, told for how long, and is not stored
    assert (first.status_code, second.status_code) == (201, 429)
    assert int(second.headers["retry-after"]) > 0
    with sessions() as session:
        assert "Two" not in session.execute(select(Message.body_text)).scalars().all()
