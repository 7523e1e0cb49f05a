"""``POST /forms/contact`` in each encoding: the raw submission is stored, the ticket made
inline, and the answer names it."""

from __future__ import annotations

import base64
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import psycopg.errors
import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from channels.web import create_app
from config.form_settings import FormSettings
from config.settings import Settings
from ingest import pipeline
from ingest.blobs import blob_store_for
from ingest.db import create_store_engine, session_factory
from ingest.models import Attachment, Identity, InboundRecord, Message, OutboxEntry, Ticket
from ingest.signals import Defer
from tests.channels.webforms.support import (
    JSON,
    FormSite,
    contact,
    count,
    form_site,
    hidden_inputs,
    stored,
)
from tests.servers import http_server


def test_the_contact_form_page_is_accessible_and_carries_a_token_and_a_honeypot(
    site: FormSite,
) -> None:
    # When the hosted contact form is fetched
    page = site.http.get("/forms/contact")
    # Then every field has a label, and the page carries a signed token and an empty honeypot
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for name in ("name", "email", "subject", "message", "attachments"):
        assert f'<label for="field-{name}">' in page.text
        assert f'name="{name}"' in page.text
    hidden = hidden_inputs(page.text)
    assert re.fullmatch(r"contact\.\d+\.[0-9a-f]{16}\.[0-9a-f]{32}", hidden["form_token"])
    assert hidden["website"] == ""
    assert 'enctype="multipart/form-data"' in page.text


def test_an_unknown_form_is_404(site: FormSite) -> None:
    assert site.http.get("/forms/nope").status_code == 404
    assert site.http.post("/forms/nope", data={}, headers=JSON).status_code == 404


def test_a_urlencoded_post_makes_a_ticket_and_answers_its_number(
    site: FormSite, sessions: sessionmaker[Session]
) -> None:
    # Given the form's hidden inputs, copied as a browser-like client would
    # When the customer posts it asking for JSON
    response = site.post(contact(), headers=JSON)
    # Then the answer is 201 with the ticket and a follow-up link
    assert response.status_code == 201
    answer = response.json()
    number = answer["ticket"]["number"]
    assert answer["ticket"]["status"] == "new"
    assert answer["follow_up_url"].startswith(f"{site.url}/t/{number}.")
    # And the raw submission and the ticket are in the store, on the web channel
    with sessions() as session:
        record = session.execute(select(InboundRecord)).scalar_one()
        assert (record.channel, record.status) == ("web", "processed")
        # (its conversation key is its own: kept on the message, never looked up)
        assert record.envelope["opens_conversation"] is True
        ticket = session.get(Ticket, number)
        assert ticket is not None
        assert (ticket.channel, ticket.subject) == ("web", "Cannot log in")
        message = session.execute(select(Message).where(Message.ticket_id == number)).scalar_one()
        assert message.body_text == "The login page says my password is wrong."
        assert (message.sender, message.sender_kind) == ("jane@example.org", "web")
        assert ticket.customer.name == "Jane Doe"
        # And the typed email is claimed (unverified) beside the web identity
        kinds = {(i.kind, i.value, i.verified) for i in session.execute(select(Identity)).scalars()}
        assert ("web", "jane@example.org", False) in kinds
        assert ("email", "jane@example.org", False) in kinds


def test_a_nul_typed_into_the_form_still_makes_its_ticket(
    site: FormSite, sessions: sessionmaker[Session]
) -> None:
    # Given a post whose name and message carry NUL (PostgreSQL's text refuses it)
    fields = contact() | {"name": "Jane\x00 Doe", "message": "The login\x00 page fails."}
    # When it is posted
    response = site.post(fields, headers=JSON)
    # Then its ticket is made inline, the NULs left out of what is stored
    assert response.status_code == 201
    number = response.json()["ticket"]["number"]
    with sessions() as session:
        ticket = session.get(Ticket, number)
        assert ticket is not None and ticket.customer.name == "Jane Doe"
        message = session.execute(select(Message).where(Message.ticket_id == number)).scalar_one()
        assert message.body_text == "The login page fails."


def test_a_multipart_post_keeps_its_attachment(
    site: FormSite, sessions: sessionmaker[Session], settings: Settings
) -> None:
    # When the customer attaches a screenshot
    response = site.http.post(
        "/forms/contact",
        data={**site.fresh(), **contact()},
        files={"attachments": ("screen.png", b"\x89PNG fake image", "image/png")},
        headers=JSON,
    )
    # Then the ticket's message has it, and its bytes are stored
    assert response.status_code == 201
    with sessions() as session:
        attachment = session.execute(select(Attachment)).scalar_one()
        assert (attachment.filename, attachment.content_type, attachment.size) == (
            "screen.png",
            "image/png",
            15,
        )
        assert attachment.refused_reason is None
    assert list(blob_store_for(settings).keys("attachments/"))


def test_a_json_post_with_a_base64_attachment_makes_a_ticket(
    site: FormSite, sessions: sessionmaker[Session]
) -> None:
    # When a script posts JSON with the page's token and a file
    document = {
        **site.fresh(),
        **contact(subject="Invoice wrong"),
        "attachments": [
            {
                "filename": "invoice.pdf",
                "content_type": "application/pdf",
                "data": base64.b64encode(b"%PDF-1.4 test").decode(),
            }
        ],
    }
    response = site.http.post("/forms/contact", json=document)
    # Then it is answered in JSON with the ticket, which has the file
    assert response.status_code == 201
    number = response.json()["ticket"]["number"]
    with sessions() as session:
        ticket = session.get(Ticket, number)
        assert ticket is not None and ticket.subject == "Invoice wrong"
        attachment = session.execute(select(Attachment)).scalar_one()
        assert attachment.filename == "invoice.pdf"


def test_a_browser_post_gets_a_thank_you_page_with_the_number(site: FormSite) -> None:
    # When a browser posts the form (asking for HTML)
    response = site.post(contact(), headers={"Accept": "text/html"})
    # Then the thank-you page shows the ticket number and the follow-up link
    assert response.status_code == 200
    number = re.search(r'id="ticket-number">(\d+)<', response.text)
    assert number is not None
    assert f"/t/{number.group(1)}." in response.text


def test_validation_errors_are_422_with_every_field(
    site: FormSite, sessions: sessionmaker[Session]
) -> None:
    # When the customer leaves the subject empty and mistypes the email
    response = site.post(contact(subject="", email="jane@@example"), headers=JSON)
    # Then both problems come back, and nothing is stored
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"subject", "email"}
    assert "required" in errors["subject"]
    assert stored(sessions) == (0, 0, 0, 0)


def test_validation_errors_show_the_form_again_with_the_input_kept(site: FormSite) -> None:
    # When a browser posts a message too long for its field, without an email
    response = site.post(contact(email="", message="x" * 20_001), headers={"Accept": "text/html"})
    # Then the form comes back with each error next to its field and the input kept
    assert response.status_code == 422
    assert 'id="error-email"' in response.text
    assert 'id="error-message"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'value="Cannot log in"' in response.text
    # And it carries a fresh token to send it again
    assert hidden_inputs(response.text)["form_token"].startswith("contact.")


def test_the_same_submission_twice_is_one_ticket(
    site: FormSite, sessions: sessionmaker[Session]
) -> None:
    # Given one page's inputs, sent twice (a double click)
    values = {**site.fresh(), **contact()}
    first = site.http.post("/forms/contact", data=values, headers=JSON)
    second = site.http.post("/forms/contact", data=values, headers=JSON)
    # Then both answers name the same ticket, and one ticket exists
    assert first.status_code == second.status_code == 201
    assert first.json()["ticket"] == second.json()["ticket"]
    assert stored(sessions)[:3] == (1, 1, 1)


def test_the_same_idempotency_key_is_one_ticket(
    site: FormSite, sessions: sessionmaker[Session]
) -> None:
    # Given two posts from two page loads under one Idempotency-Key (a client's retry)
    headers = {**JSON, "Idempotency-Key": "order-42-contact"}
    first = site.post(contact(), headers=headers)
    second = site.post(contact(), headers=headers)
    # Then they are one ticket
    assert first.json()["ticket"] == second.json()["ticket"]
    assert stored(sessions)[:2] == (1, 1)


def test_two_page_loads_with_the_same_words_are_two_tickets(
    site: FormSite, sessions: sessionmaker[Session]
) -> None:
    first = site.post(contact(), headers=JSON)
    second = site.post(contact(), headers=JSON)
    assert first.json()["ticket"]["number"] != second.json()["ticket"]["number"]


def test_attachments_over_the_limits_are_refused_to_the_customer(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given a form taking two files of at most 100 bytes each
    limits = FormSettings(min_seconds=0, max_files=2, max_file_bytes=100)
    with form_site(sessions, settings, limits) as site:
        cases = {
            "too big": [("attachments", ("big.png", b"x" * 101, "image/png"))],
            "wrong type": [("attachments", ("run.exe", b"MZ", "application/x-msdownload"))],
            "too many": [("attachments", (f"{i}.txt", b"hi", "text/plain")) for i in range(3)],
        }
        answers = {
            case: site.http.post(
                "/forms/contact", data={**site.fresh(), **contact()}, files=files, headers=JSON
            )
            for case, files in cases.items()
        }
    # Then each is refused with the reason next to the attachments field, and nothing is stored
    assert {case: a.status_code for case, a in answers.items()} == dict.fromkeys(cases, 422)
    assert "big.png is larger than 100 bytes" in answers["too big"].json()["errors"]["attachments"]
    assert "application/x-msdownload" in answers["wrong type"].json()["errors"]["attachments"]
    assert "at most 2 files" in answers["too many"].json()["errors"]["attachments"]
    assert stored(sessions) == (0, 0, 0, 0)


def test_a_body_over_the_maximum_is_413(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    with form_site(sessions, settings, FormSettings(min_seconds=0, max_body_bytes=2048)) as site:
        response = site.post(contact(message="x" * 4000), headers=JSON)
    assert response.status_code == 413
    assert stored(sessions) == (0, 0, 0, 0)


def test_a_post_is_503_with_retry_after_when_the_store_is_down(settings: Settings) -> None:
    # Given a form whose store does not answer (the page itself needs no store)
    down = create_store_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    app = create_app(
        session_factory(down), settings=settings, form_limits=FormSettings(min_seconds=0)
    )
    with http_server(app) as url, httpx.Client(base_url=url) as http:
        page = http.get("/forms/contact")
        # When the customer posts it
        response = http.post(
            "/forms/contact", data={**hidden_inputs(page.text), **contact()}, headers=JSON
        )
        html = http.post("/forms/contact", data={**hidden_inputs(page.text), **contact()})
    down.dispose()
    # Then they are told to try again later, never "ok"
    assert response.status_code == html.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "Nothing was saved" in response.json()["error"]
    assert "Nothing was saved" in html.text


def test_the_inline_ingest_leaves_the_worker_no_ingest_to_redo(
    site: FormSite, sessions: sessionmaker[Session]
) -> None:
    # When a post is made into a ticket inline
    response = site.post(contact(), headers=JSON)
    assert response.status_code == 201
    # Then the raw submission was committed with it, processed, and the work queued is
    # the new ticket's (triage, acknowledgement), not a second ingest
    with sessions() as session:
        record = session.execute(select(InboundRecord)).scalar_one()
        assert record.status == "processed"
        actors = sorted(session.execute(select(OutboxEntry.actor)).scalars())
    assert actors == ["acknowledge", "triage"]


def test_a_failing_inline_ingest_leaves_the_submission_committed_for_the_worker(
    site: FormSite, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an ingest step that breaks after it has written the ticket and message
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("identity claims broke")

    monkeypatch.setattr(pipeline, "link_claims", broken)
    # When the customer posts the form
    response = site.post(contact(), headers=JSON)
    # Then the answer says the request was received, without a number yet
    assert response.status_code == 202
    assert response.json()["ticket"] is None
    # And the raw submission is committed and pending, with the worker's ingest queued,
    # and nothing of the failed ingest is left
    with sessions() as session:
        record = session.execute(select(InboundRecord)).scalar_one()
        assert record.status == "pending"
        work = session.execute(select(OutboxEntry.actor, OutboxEntry.payload)).all()
        assert [tuple(w) for w in work] == [("ingest", {"inbound_id": record.id})]
    assert stored(sessions) == (1, 0, 0, 0)


def test_a_deadlock_in_the_inline_ingest_answers_503_and_keeps_nothing(
    site: FormSite, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the store deadlocks during the inline ingest (an outage, not a bug)
    def deadlocks(*args: object, **kwargs: object) -> None:
        raise DBAPIError.instance(
            "UPDATE tickets", {}, psycopg.errors.DeadlockDetected("deadlock"), psycopg.Error
        )

    monkeypatch.setattr(pipeline, "link_claims", deadlocks)
    # When the customer posts the form
    response = site.post(contact(), headers=JSON)
    # Then the post is refused for now, to be sent again, and nothing of it is stored
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert stored(sessions) == (0, 0, 0, 0)


def test_a_deferred_inline_ingest_is_queued_for_the_worker(
    site: FormSite, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an ingest that must wait for something stored but not processed yet
    def waits(*args: object, **kwargs: object) -> None:
        raise Defer(1.0, "waits for another record")

    monkeypatch.setattr(pipeline, "link_claims", waits)
    # When the customer posts the form
    response = site.post(contact(), headers=JSON)
    # Then it is accepted, and the worker's ingest is queued for it
    assert response.status_code == 202
    with sessions() as session:
        record = session.execute(select(InboundRecord)).scalar_one()
        assert record.status == "pending"
        actors = session.execute(select(OutboxEntry.actor)).scalars().all()
    assert actors == ["ingest"]


def test_a_client_copying_only_the_hidden_inputs_gets_201(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given the default time trap, and a client that copies the page's hidden inputs only
    limits = FormSettings(min_seconds=1)
    with form_site(sessions, settings, limits) as site:
        page = site.http.get("/forms/contact").text
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
        assert set(hidden) == {"form_token"}
        # When it waits past the time trap and posts asking for JSON
        time.sleep(1.5)
        response = site.http.post("/forms/contact", data={**hidden, **contact()}, headers=JSON)
    # Then it gets the ticket
    assert response.status_code == 201
    assert set(response.json()) == {"ticket", "follow_up_url"}


def test_past_the_per_form_limit_every_sender_waits(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    limits = FormSettings(min_seconds=0, form_burst=1, form_per_hour=1)
    with form_site(sessions, settings, limits) as site:
        first = site.post(contact(email="a@example.org"), headers=JSON)
        second = site.post(contact(email="b@example.org"), headers=JSON)
    assert (first.status_code, second.status_code) == (201, 429)
    assert stored(sessions)[:2] == (1, 1)


def test_posts_sent_at_once_each_get_their_ticket_stored_on_the_one_store_thread_of_sqlite(
    site: FormSite, sessions: sessionmaker[Session]
) -> None:
    # The thread that stores each post, as its raw submission is inserted
    threads: list[str] = []

    def recording(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO INBOUND"):
            threads.append(threading.current_thread().name)

    event.listen(sessions.kw["bind"], "before_cursor_execute", recording)
    inputs = site.fresh()

    def post(n: int) -> httpx.Response:
        with httpx.Client(base_url=site.url) as client:
            values = {**inputs, **contact(subject=f"Cannot log in ({n})")}
            return client.post("/forms/contact", data=values, headers=JSON)

    # When eight customers post at the same moment
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(8)))
    # Then each is a 201 with a ticket of its own
    assert [a.status_code for a in answers] == [201] * 8
    assert len({a.json()["ticket"]["number"] for a in answers}) == 8
    assert count(sessions, Ticket) == 8
    # And SQLite's posts were stored on one thread (those that came together in one
    # transaction); PostgreSQL's on the event loop's pool, side by side
    event.remove(sessions.kw["bind"], "before_cursor_execute", recording)
    if sessions.kw["bind"].dialect.name == "sqlite":
        # One insert for the posts that came together: between one and eight of them
        assert 1 <= len(threads) <= 8
        assert len(set(threads)) == 1 and threads[0].startswith("form-store")
    else:
        assert len(threads) == 8
        assert not any(name.startswith("form-store") for name in threads)
