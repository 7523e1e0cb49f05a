"""The abuse guards without a third party: honeypot, time trap, signed expiring tokens,
Origin/Referer, and shared rate limits; refused posts are recorded, counted and releasable."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.form_settings import FormSettings
from config.settings import Settings
from ingest.form_refusals import release
from ingest.models import FormRefusal, Ticket
from normalize.form_tokens import form_token
from tests.channels.webforms.support import JSON, FormSite, contact, form_site, stored
from tests.conftest import FIXTURES
from tests.harness import Pipeline


def refusals(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as session:
        return [
            (r.reason, r.email)
            for r in session.execute(select(FormRefusal).order_by(FormRefusal.id)).scalars()
        ]


def test_a_filled_honeypot_is_refused_recorded_and_counted(
    site: FormSite, sessions: sessionmaker[Session]
) -> None:
    # When a bot fills in every field, the hidden one too
    response = site.post(contact(website="http://spam.example"), headers=JSON)
    # Then it is refused, no ticket is made, and the refusal is kept with its reason
    assert response.status_code == 400
    assert response.json()["reason"] == "honeypot"
    assert stored(sessions)[:2] == (0, 0)
    assert refusals(sessions) == [("honeypot", "jane@example.org")]
    # And /metrics counts it by reason
    metrics = site.http.get("/metrics").text
    assert 'omniroute_form_refusals{form="contact",reason="honeypot"} 1.0' in metrics


def test_a_post_sooner_than_the_time_trap_is_refused_and_a_person_gets_the_form_back(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    with form_site(sessions, settings, FormSettings(min_seconds=60)) as site:
        # When the form is posted at once after loading it
        scripted = site.post(contact(), headers=JSON)
        browser = site.post(contact(), headers={"Accept": "text/html"})
    # Then it is refused as too quick; a browser sees its input again with a fresh token
    assert scripted.status_code == 400
    assert scripted.json()["reason"] == "time-trap"
    assert browser.status_code == 400
    assert "very quick" in browser.text and 'value="Cannot log in"' in browser.text
    assert [reason for reason, _ in refusals(sessions)] == ["time-trap", "time-trap"]
    assert stored(sessions)[:2] == (0, 0)


def test_a_missing_or_forged_token_is_refused(
    site: FormSite, sessions: sessionmaker[Session]
) -> None:
    good = site.fresh()["form_token"]
    forged = good[:-1] + ("0" if good[-1] != "0" else "1")
    missing = site.http.post("/forms/contact", data=contact(), headers=JSON)
    tampered = site.http.post(
        "/forms/contact", data={**contact(), "form_token": forged, "website": ""}, headers=JSON
    )
    assert missing.status_code == tampered.status_code == 400
    assert missing.json()["reason"] == tampered.json()["reason"] == "bad-token"
    assert stored(sessions)[:2] == (0, 0)


def test_an_expired_token_is_refused(sessions: sessionmaker[Session], settings: Settings) -> None:
    # Given a token issued two hours ago, on a form whose tokens live one hour
    old = form_token(settings.signing_key, "contact", int(time.time()) - 7200)
    limits = FormSettings(min_seconds=0, token_max_age_seconds=3600)
    with form_site(sessions, settings, limits) as site:
        response = site.http.post(
            "/forms/contact", data={**contact(), "form_token": old, "website": ""}, headers=JSON
        )
    assert response.status_code == 400
    assert response.json()["reason"] == "expired-token"


def test_a_cross_site_post_needs_an_allowed_origin(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given a form that may be embedded on www.example.org only
    declared = settings.model_copy(update={"rules_file": FIXTURES / "webform" / "forms.yaml"})
    values = {"email": "jane@example.org", "topic": "Refund", "details": "Hello"}
    with form_site(sessions, declared) as site:

        def post(headers: dict[str, str]) -> int:
            return site.post(values, form="embed", headers={**JSON, **headers}).status_code

        # Then a post from another site is refused, from the allowed one and our own accepted
        assert post({"Origin": "https://evil.example"}) == 403
        assert post({"Referer": "https://evil.example/page"}) == 403
        assert post({"Origin": "https://www.example.org"}) == 201
        assert post({"Origin": site.url}) == 201
        assert post({}) == 201
    assert [reason for reason, _ in refusals(sessions)] == ["origin", "origin"]


def test_past_the_per_email_limit_a_post_is_429_with_retry_after(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    limits = FormSettings(min_seconds=0, email_burst=2, email_per_hour=1)
    with form_site(sessions, settings, limits) as site:
        answers = [site.post(contact(), headers=JSON) for _ in range(3)]
        page = site.post(contact(), headers={"Accept": "text/html"})
        other = site.post(contact(email="bob@example.org"), headers=JSON)
    # Then two pass, the third waits (told how long), a page says so, another customer passes
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert 3000 <= int(answers[2].headers["retry-after"]) <= 3600
    assert page.status_code == 429 and "try again in" in page.text
    assert other.status_code == 201
    assert stored(sessions)[1] == 3


def test_the_per_ip_limit_counts_the_forwarded_client_only_behind_a_trusted_proxy(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given one post per hour per client address
    def two_offices(limits: FormSettings) -> list[int]:
        with form_site(sessions, settings, limits) as site:
            return [
                site.post(
                    contact(email=f"p{i}@example.org"),
                    headers={**JSON, "X-Forwarded-For": f"198.51.100.{i}"},
                ).status_code
                for i in (1, 2)
            ]

    base = {"min_seconds": 0, "ip_burst": 1, "ip_per_hour": 1}
    # Then behind a trusted proxy two clients are two buckets; untrusted, XFF is ignored
    assert two_offices(FormSettings(**base, trusted_proxies=("127.0.0.0/8",))) == [201, 201]
    assert two_offices(FormSettings(**base)) == [429, 429]


def test_a_refused_post_can_be_released_into_a_ticket(
    site: FormSite, sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given a person's post caught by the honeypot (an autofilling browser)
    site.post(contact(website="autofilled"), headers=JSON)
    with sessions() as session:
        refused = session.execute(select(FormRefusal)).scalar_one()
        refusal_id = refused.id
        # (kept without its token, its key may be an identical post's: it is looked up)
        assert "opens_conversation" not in refused.envelope
    # When it is released and the workers run
    pipe = Pipeline(settings, sessions)
    try:
        release(sessions, refusal_id)
        pipe.drain()
    finally:
        pipe.close()
    # Then it is a ticket like any other
    with sessions() as session:
        ticket = session.execute(select(Ticket)).scalar_one()
        assert (ticket.channel, ticket.subject) == ("web", "Cannot log in")
        refusal = session.get(FormRefusal, refusal_id)
        assert refusal is not None and refusal.released_at is not None
