"""The signed-webhook client against a real loopback receiver and a real httpx.Client."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from email.utils import formatdate

import httpx
import pytest

from config.destinations import WebhookDestination
from tests.workers.webhook_receiver import WebhookReceiver
from workers.delivery.desks.base import AttemptResult, Outcome, backoff_seconds
from workers.delivery.desks.signing import (
    EVENT_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)
from workers.delivery.desks.webhook import post_webhook

SECRET = b"test-webhook-secret"
PAYLOAD = {"ticket": {"number": 10342, "subject": "Printer on fire"}, "schema_version": 1}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=SECRET) as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as http:
        yield http


def destination_for(url: str, timeout: float = 5.0) -> WebhookDestination:
    return WebhookDestination.model_validate(
        {"url": url, "secret_env": "TEST_WEBHOOK_SECRET", "timeout_seconds": timeout}
    )


def deliver(
    client: httpx.Client, url: str, *, timeout: float = 5.0, now: int | None = None
) -> AttemptResult:
    return post_webhook(
        client,
        destination_for(url, timeout),
        event="ticket.created",
        payload=PAYLOAD,
        idempotency_key="delivery-42",
        secret=SECRET,
        now=int(time.time()) if now is None else now,
    )


# -- signing ---------------------------------------------------------------------------


def test_signature_verifies_at_the_receiver(
    receiver: WebhookReceiver, client: httpx.Client
) -> None:
    # Given a receiver that shares our secret
    # When a ticket is delivered
    deliver(client, receiver.url_for("/hook"))
    # Then the request it got carries a valid signature over the exact JSON we meant
    (request,) = receiver.wait_for(1)
    assert request.signature_valid is True
    assert request.json() == PAYLOAD


def test_tampered_body_fails_verification(receiver: WebhookReceiver, client: httpx.Client) -> None:
    # Given a delivered, correctly signed request
    deliver(client, receiver.url_for())
    (request,) = receiver.wait_for(1)
    # When one byte of its body is changed in transit
    tampered = request.body.replace(b"10342", b"10343")
    # Then its signature no longer verifies
    assert not verify(
        SECRET,
        request.header(TIMESTAMP_HEADER) or "",
        request.header(SIGNATURE_HEADER) or "",
        tampered,
        now=int(time.time()),
    )


def test_stale_timestamp_fails_verification(
    receiver: WebhookReceiver, client: httpx.Client
) -> None:
    # Given a request signed ten minutes ago (a replay of a captured request)
    deliver(client, receiver.url_for(), now=int(time.time()) - 600)
    # When the receiver checks it with the default five-minute tolerance
    (request,) = receiver.wait_for(1)
    # Then it is refused even though the signature itself is genuine
    assert request.signature_valid is False


def test_idempotency_key_and_event_headers_are_sent(
    receiver: WebhookReceiver, client: httpx.Client
) -> None:
    # Given a delivery with an idempotency key and an event name
    # When it is sent
    deliver(client, receiver.url_for())
    # Then the receiver sees both, plus our content type and user agent
    (request,) = receiver.wait_for(1)
    assert request.header(IDEMPOTENCY_HEADER) == "delivery-42"
    assert request.header(EVENT_HEADER) == "ticket.created"
    assert request.header("Content-Type") == "application/json"
    assert request.header("User-Agent") == "omniroute/0.1"
    assert request.body == json.dumps(PAYLOAD, sort_keys=True, separators=(",", ":")).encode()


# -- classification --------------------------------------------------------------------


def test_200_is_delivered_with_the_external_id(
    receiver: WebhookReceiver, client: httpx.Client
) -> None:
    # Given a receiver that answers 200 with its ticket id
    receiver.enqueue(200, body={"ticket_id": "ZD-981"})
    # When a ticket is delivered
    result = deliver(client, receiver.url_for())
    # Then it is delivered and the external id is recorded
    assert result.outcome is Outcome.DELIVERED
    assert result.status_code == 200
    assert result.external_id == "ZD-981"
    assert result.error is None


@pytest.mark.parametrize(
    ("answered", "kept"),
    [
        ({"id": 981}, "981"),
        ({"id": "ZD\x00-9"}, "ZD-9"),
        ({"id": "x" * 300}, None),
        ({"id": True}, None),
    ],
)
def test_the_receivers_id_is_kept_only_as_the_store_can_keep_it(
    receiver: WebhookReceiver, client: httpx.Client, answered: dict[str, object], kept: str | None
) -> None:
    receiver.enqueue(200, body=answered)
    result = deliver(client, receiver.url_for())
    assert (result.outcome, result.external_id) == (Outcome.DELIVERED, kept)


def test_2xx_with_a_non_json_body_is_delivered_without_external_id(
    receiver: WebhookReceiver, client: httpx.Client
) -> None:
    # Given a receiver that answers 202 with plain text
    receiver.enqueue(202, body="queued, thanks")
    # When a ticket is delivered
    result = deliver(client, receiver.url_for())
    # Then it still counts as delivered, just without an external id
    assert result.outcome is Outcome.DELIVERED
    assert result.external_id is None


def test_500_is_retried(receiver: WebhookReceiver, client: httpx.Client) -> None:
    # Given a receiver that fails with 500
    receiver.enqueue(500, body="database is down " + "x" * 500)
    # When a ticket is delivered
    result = deliver(client, receiver.url_for())
    # Then it is a transient failure, with a short error that quotes the body
    assert result.outcome is Outcome.RETRY
    assert result.status_code == 500
    assert result.error is not None
    assert result.error.startswith("HTTP 500 from receiver: database is down")
    assert len(result.error) < 250


def test_429_with_retry_after_is_retried_after_the_asked_delay(
    receiver: WebhookReceiver, client: httpx.Client
) -> None:
    # Given a receiver that rate-limits us for 120 seconds
    receiver.enqueue(429, headers={"Retry-After": "120"})
    # When a ticket is delivered
    result = deliver(client, receiver.url_for())
    # Then it is retried, no sooner than asked
    assert result.outcome is Outcome.RETRY
    assert result.retry_after_seconds == 120.0


def test_retry_after_as_an_http_date_is_converted_to_seconds(
    receiver: WebhookReceiver, client: httpx.Client
) -> None:
    # Given a 503 whose Retry-After is an HTTP-date 90 seconds after our clock
    now = 1_750_000_000
    receiver.enqueue(503, headers={"Retry-After": formatdate(now + 90, usegmt=True)})
    # When a ticket is delivered at that clock
    result = deliver(client, receiver.url_for(), now=now)
    # Then the wait is expressed in seconds from now
    assert result.outcome is Outcome.RETRY
    assert result.retry_after_seconds == 90.0


def test_400_is_rejected(receiver: WebhookReceiver, client: httpx.Client) -> None:
    # Given a receiver that says our request is malformed
    receiver.enqueue(400, body={"error": "unknown field"})
    # When a ticket is delivered
    result = deliver(client, receiver.url_for())
    # Then it is rejected, never to be retried
    assert result.outcome is Outcome.REJECTED
    assert result.status_code == 400
    assert result.error == 'HTTP 400 from receiver: {"error": "unknown field"}'


def test_redirect_is_rejected_and_not_followed(
    receiver: WebhookReceiver, client: httpx.Client
) -> None:
    # Given a receiver that redirects elsewhere
    receiver.enqueue(307, headers={"Location": "/elsewhere"})
    # When a ticket is delivered
    result = deliver(client, receiver.url_for())
    # Then it is rejected and the redirect target is never requested
    assert result.outcome is Outcome.REJECTED
    assert result.error is not None
    assert "redirects are not followed" in result.error
    time.sleep(0.1)
    assert [request.path for request in receiver.requests] == ["/hook"]


def test_timeout_is_retried() -> None:
    # Given a receiver slower than the destination's timeout
    with WebhookReceiver(secret=SECRET, delay_seconds=5) as slow, httpx.Client() as client:
        # When a ticket is delivered
        started = time.monotonic()
        result = deliver(client, slow.url_for(), timeout=0.2)
        elapsed = time.monotonic() - started
    # Then it gives up on time and asks for a retry
    assert result.outcome is Outcome.RETRY
    assert result.status_code is None
    assert result.error == "timed out after 0.2s"
    assert elapsed < 2


def test_connection_refused_is_retried(client: httpx.Client) -> None:
    # Given a port that is bound but not listening, so connections are refused
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        # When a ticket is delivered there
        result = deliver(client, f"http://127.0.0.1:{port}/hook")
    # Then it is a transient failure naming the connection problem
    assert result.outcome is Outcome.RETRY
    assert result.status_code is None
    assert result.error is not None
    assert result.error.startswith("connection failed")


# -- backoff ---------------------------------------------------------------------------


def test_backoff_grows_with_each_attempt() -> None:
    # Given many draws per attempt (full jitter makes each draw random)
    # When attempts 1 and 6 are compared
    first = [backoff_seconds(1, base=2.0, maximum=600.0) for _ in range(200)]
    sixth = [backoff_seconds(6, base=2.0, maximum=600.0) for _ in range(200)]
    # Then each stays under its exponential ceiling, and the later one reaches far higher
    assert all(0.0 <= delay <= 2.0 for delay in first)
    assert all(0.0 <= delay <= 64.0 for delay in sixth)
    assert max(sixth) > 2.0 * 4


def test_backoff_is_capped_at_the_maximum() -> None:
    # Given an attempt far beyond where the exponential passes the cap
    # When its delay is drawn, also with a Retry-After beyond the cap
    delays = [backoff_seconds(500, base=2.0, maximum=60.0) for _ in range(200)]
    asked = backoff_seconds(3, base=2.0, maximum=60.0, retry_after=3600.0)
    # Then no delay exceeds the maximum
    assert all(0.0 <= delay <= 60.0 for delay in delays)
    assert asked == 60.0


def test_backoff_honours_retry_after() -> None:
    # Given a receiver that asked for 30 seconds on a first failure (ceiling 2 seconds)
    # When the delay is drawn
    delays = [backoff_seconds(1, base=2.0, maximum=600.0, retry_after=30.0) for _ in range(50)]
    # Then it is never shorter than asked
    assert all(delay == 30.0 for delay in delays)
