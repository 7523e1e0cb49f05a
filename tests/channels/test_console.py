"""The ops console over HTTP: admin sign-in, CSRF on every form, the pages and actions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy.orm import Session, sessionmaker

from ingest.health import beat
from ingest.models import Delivery, InboundRecord, SlaBreach, utcnow
from ingest.tokens import revoke_token
from tests.channels.console_support import Seeded, console, outbox_for

__all__ = ["console"]


@contextmanager
def signed_in(console: Seeded) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console.url) as client:
        page = client.get("/console/login")
        client.post(
            "/console/login", data={"token": console.admin_token, "csrf": csrf_of(page.text)}
        )
        yield client


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "no CSRF field on the page"
    return match.group(1)


def test_without_a_token_pages_send_to_sign_in_and_actions_are_refused(
    console: Seeded, sessions: sessionmaker[Session]
) -> None:
    with httpx.Client(base_url=console.url) as anonymous:
        # When someone without a token opens a page or posts a retry
        page = anonymous.get("/console/deliveries")
        form = anonymous.get("/console/login")
        retry = anonymous.post(
            f"/console/deliveries/{console.dead_delivery}/retry",
            data={"csrf": csrf_of(form.text)},
        )
    # Then the page sends them to sign in, and the retry is refused and changes nothing
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login?next=%2Fconsole%2Fdeliveries"
    assert retry.status_code == 401
    with sessions() as session:
        delivery = session.get(Delivery, console.dead_delivery)
        assert delivery is not None and delivery.status == "dead"
    assert outbox_for(sessions, "deliver") == []


def test_a_wrong_token_does_not_sign_in(console: Seeded) -> None:
    with httpx.Client(base_url=console.url) as client:
        form = client.get("/console/login")
        answer = client.post("/console/login", data={"token": "guess", "csrf": csrf_of(form.text)})
        assert answer.status_code == 401
        assert "unknown, revoked or not admin" in answer.text
        assert client.get("/console").status_code == 303


def test_a_token_without_the_admin_scope_does_not_sign_in(console: Seeded) -> None:
    with httpx.Client(base_url=console.url) as client:
        form = client.get("/console/login")
        answer = client.post(
            "/console/login", data={"token": console.reader_token, "csrf": csrf_of(form.text)}
        )
        assert answer.status_code == 401
        assert client.get("/console").status_code == 303


def test_revoking_the_token_signs_its_holder_out(
    console: Seeded, sessions: sessionmaker[Session]
) -> None:
    with signed_in(console) as client:
        assert client.get("/console").status_code == 200
        with sessions.begin() as session:
            revoke_token(session, "ops-console")
        assert client.get("/console").status_code == 303


def test_an_admin_token_signs_in_with_an_http_only_same_site_cookie(console: Seeded) -> None:
    with httpx.Client(base_url=console.url) as client:
        form = client.get("/console/login")
        answer = client.post(
            "/console/login", data={"token": console.admin_token, "csrf": csrf_of(form.text)}
        )
        # Then the browser keeps the token in a cookie scripts cannot read
        cookie = answer.headers["set-cookie"]
        assert answer.status_code == 303
        assert "omniroute_console=" in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
        assert client.get("/console").status_code == 200


def test_a_form_without_its_csrf_token_is_refused(
    console: Seeded, sessions: sessionmaker[Session]
) -> None:
    with signed_in(console) as client:
        answer = client.post(f"/console/deliveries/{console.dead_delivery}/retry", data={})
    assert answer.status_code == 400
    assert "CSRF" in answer.text
    assert outbox_for(sessions, "deliver") == []


def test_a_sign_in_never_sends_the_browser_elsewhere(console: Seeded) -> None:
    with httpx.Client(base_url=console.url) as client:
        form = client.get("/console/login")
        answer = client.post(
            "/console/login",
            data={
                "token": console.admin_token,
                "csrf": csrf_of(form.text),
                "next": "//evil.test/x",
            },
        )
    assert answer.headers["location"] == "/console"


def test_the_ticket_page_shows_messages_threading_trace_and_every_attempt(
    console: Seeded,
) -> None:
    with signed_in(console) as client:
        page = client.get(f"/console/tickets/{console.ticket}").text
    assert "Refund for invoice 42" in page
    assert "threaded by new-ticket" in page
    assert 'id="trace"' in page and "<td>category</td>" in page
    assert page.count("HTTP 503 from Zendesk") >= 3  # last error and both attempts


def test_retrying_a_dead_delivery_queues_it_with_a_fresh_budget(
    console: Seeded, sessions: sessionmaker[Session]
) -> None:
    with signed_in(console) as client:
        page = client.get("/console/deliveries")
        answer = client.post(
            f"/console/deliveries/{console.dead_delivery}/retry",
            data={"csrf": csrf_of(page.text)},
        )
        after = client.get(answer.headers["location"])
    assert "queued for another attempt" in after.text
    with sessions() as session:
        delivery = session.get(Delivery, console.dead_delivery)
        assert delivery is not None
        assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert outbox_for(sessions, "deliver") == [{"delivery_id": console.dead_delivery}]


def test_releasing_quarantined_input_sends_it_through_ingest_again(
    console: Seeded, sessions: sessionmaker[Session]
) -> None:
    with signed_in(console) as client:
        page = client.get("/console/inbound")
        assert "mail loop" in page.text
        client.post(
            f"/console/inbound/{console.quarantined}/release", data={"csrf": csrf_of(page.text)}
        )
        again = client.post(
            f"/console/inbound/{console.quarantined}/release", data={"csrf": csrf_of(page.text)}
        )
    with sessions() as session:
        record = session.get(InboundRecord, console.quarantined)
        assert record is not None and record.status == "pending"
    assert {"inbound_id": console.quarantined} in outbox_for(sessions, "ingest")
    # A second release of the same record is refused with the reason, not repeated
    assert "only quarantined or failed input is replayed" in client_note(again)


def client_note(answer: httpx.Response) -> str:
    return httpx.URL(answer.headers["location"]).params["note"]


def test_the_overview_draws_intake_and_lag_charts_as_svg(console: Seeded) -> None:
    with signed_in(console) as client:
        page = client.get("/console").text
    assert page.count("<svg") == 2
    assert 'data-channel="email"' in page
    assert "http" not in page.split("<svg", 1)[1].split("</svg>")[0].replace(
        "http://www.w3.org/2000/svg", ""
    )


def test_tickets_filter_by_field_and_text(console: Seeded) -> None:
    with signed_in(console) as client:
        matching = client.get("/console/tickets", params={"channel": "email", "text": "invoice"})
        other = client.get("/console/tickets", params={"status": "closed"})
        by_number = client.get("/console/tickets", params={"text": f"#{console.ticket}"})
    assert "Refund for invoice 42" in matching.text
    assert "No tickets match." in other.text
    assert f'href="/console/tickets/{console.ticket}"' in by_number.text


def test_sla_and_health_pages_list_breaches_and_roles(
    console: Seeded, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        session.add(SlaBreach(ticket_id=console.ticket, kind="first_response", due_at=utcnow()))
        beat(session, "worker", "host-a:7", "4 worker threads and an outbox relay")
    with signed_in(console) as client:
        sla = client.get("/console/sla").text
        health = client.get("/console/health").text
    assert f"#{console.ticket}</a> Refund for invoice 42" in sla and "first_response" in sla
    assert 'data-role="worker"' in health and "host-a:7: 4 worker threads" in health
    assert 'class="none" data-role="scheduler"' in health
