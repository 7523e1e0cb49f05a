"""Refusals by channel and reason, counted in each process and shown by every web process.

Two web processes and an SMTP process share one store; each counts what it turns
away in memory and writes the sums with its heartbeat (and at shutdown), so either
web process's ``/metrics`` shows every edge's refusals.
"""

from __future__ import annotations

import json
import re
import smtplib
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from ingest.ops_queries import refusals_by_reason
from tests.channels.slack.support import SIGNING_SECRET, sign
from tests.channels.twilio_fake import ACCOUNT_SID, AUTH_TOKEN
from tests.channels.twilio_support import OUR_NUMBER, PUBLIC_URL, SMS_PATH, signed
from tests.channels.webforms.support import hidden_inputs
from tests.integration.support import OMNIROUTE, Processes, clean_env, free_port, wait_until

pytestmark = pytest.mark.integration

REFUSALS = re.compile(r'^omniroute_refusals_total\{channel="([^"]+)",reason="([^"]+)"\} (\S+)$')


def refusals_in(metrics: str) -> dict[tuple[str, str], float]:
    found = {}
    for line in metrics.splitlines():
        match = REFUSALS.match(line)
        if match:
            found[(match[1], match[2])] = float(match[3])
    return found


def scrape(port: int) -> dict[tuple[str, str], float]:
    try:
        return refusals_in(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
    except httpx.HTTPError:
        return {}


def answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_refusals_of_every_edge_show_in_metrics_by_channel_and_reason_across_processes(
    database_url: str,
    broker_url: str,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    processes: Processes,
) -> None:
    # Given two web processes (Twilio, Slack, forms, API) and an SMTP edge on one store
    web_a, web_b, smtp_port = free_port(), free_port(), free_port()
    env = clean_env(
        OMNIROUTE_DATABASE_URL=database_url,
        OMNIROUTE_BROKER_URL=broker_url,
        OMNIROUTE_DATA_DIR=str(tmp_path / "data"),
        OMNIROUTE_SMTP_PORT=str(smtp_port),
        OMNIROUTE_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        OMNIROUTE_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        OMNIROUTE_TWILIO_NUMBERS=OUR_NUMBER,
        OMNIROUTE_PUBLIC_URL=PUBLIC_URL,
        OMNIROUTE_SLACK_BOT_TOKEN="xoxb-test-bot",
        OMNIROUTE_SLACK_SIGNING_SECRET=SIGNING_SECRET,
        OMNIROUTE_SLACK_API_URL="http://127.0.0.1:9/api/",
    )
    for name, port in (("web-a", web_a), ("web-b", web_b)):
        processes.start(
            name, [str(OMNIROUTE), "web"], {**env, "OMNIROUTE_HTTP_PORT": str(port)}, tmp_path
        )
    smtp = processes.start("smtp", [str(OMNIROUTE), "smtp"], env, tmp_path)
    for port in (web_a, web_b):
        wait_until(lambda port=port: answers(port), "a web process", context=processes.output)

    # When Twilio webhooks arrive unsigned, or signed with another token, at web A
    form = {"AccountSid": ACCOUNT_SID, "From": "+14155550123", "To": OUR_NUMBER, "Body": "hi"}
    with httpx.Client(base_url=f"http://127.0.0.1:{web_a}") as http:
        assert http.post(SMS_PATH, data=form).status_code == 403
        for _ in range(3):
            wrong = signed(PUBLIC_URL + SMS_PATH, form, token="not-the-token")
            assert http.post(SMS_PATH, data=form, headers=wrong).status_code == 403
        # And API requests come with no token and with a bad one
        assert http.get("/api/tickets").status_code == 401
        bad = {"Authorization": "Bearer omr_nope_nope"}
        assert http.get("/api/tickets", headers=bad).status_code == 401
    # And Slack events arrive at web B unsigned, replayed from long ago, and mis-signed
    event = json.dumps({"type": "event_callback", "event_id": "Ev1", "event": {}}).encode()
    with httpx.Client(base_url=f"http://127.0.0.1:{web_b}") as http:
        plain = {"Content-Type": "application/json"}
        assert http.post("/slack/events", content=event, headers=plain).status_code == 401
        old = sign(event, timestamp=int(time.time()) - 3600)
        assert http.post("/slack/events", content=event, headers=old).status_code == 401
        forged = sign(event, secret="not-the-secret")
        assert http.post("/slack/events", content=event, headers=forged).status_code == 401
        # And a bot fills the contact form's honeypot
        page = http.get("/forms/contact")
        spam = {
            **hidden_inputs(page.text),
            "name": "Bot",
            "email": "bot@spam.example",
            "subject": "Offer",
            "message": "Buy now",
            "website": "http://spam.example",
        }
        assert http.post("/forms/contact", data=spam).status_code == 400
    # And mail arrives for unknown mailboxes, and a client speaks bad SMTP
    wait_until(lambda: _smtp_answers(smtp_port), "the smtp edge", context=processes.output)
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        client.ehlo()
        client.mail("jane@customer.test")
        for mailbox in ("nobody@example.com", "noone@example.com"):
            assert client.rcpt(mailbox)[0] == 550
        client.rset()
        assert client.docmd("MAIL", "TO:<jane@customer.test>")[0] == 501
        assert client.docmd("RCPT", "TO:<support@example.com>")[0] == 503

    expected = {
        ("twilio", "missing-signature"): 1.0,
        ("twilio", "bad-signature"): 3.0,
        ("api", "missing token"): 1.0,
        ("api", "bad token"): 1.0,
        ("slack", "missing signature"): 1.0,
        ("slack", "stale timestamp"): 1.0,
        ("slack", "bad signature"): 1.0,
        ("web", "honeypot"): 1.0,
        ("email", "unknown recipient"): 2.0,
        ("email", "bad syntax"): 1.0,
        ("email", "bad sequence"): 1.0,
    }

    # Then each web process's /metrics shows every edge's refusals once flushed
    def both_show_all() -> bool:
        return all(
            {k: v for k, v in scrape(port).items() if k in expected} == expected
            for port in (web_a, web_b)
        )

    wait_until(both_show_all, "the refusals in /metrics", context=lambda: str(scrape(web_a)))

    # When the SMTP edge refuses once more and is stopped at once
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        client.ehlo()
        client.mail("jane@customer.test")
        assert client.rcpt("nobody@example.com")[0] == 550
    smtp.terminate()
    smtp.wait(timeout=30)
    # Then its last count was written on the way out
    with sessions() as session:
        counts = {(c, r): n for c, r, n in refusals_by_reason(session)}
    assert counts[("email", "unknown recipient")] == 3


def _smtp_answers(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=2) as client:
            return client.noop()[0] == 250
    except OSError:
        return False
