"""The signed-webhook destination: POST one signed JSON document, classify the answer.

The core is pure (serialize, sign, classify a status, parse ``Retry-After``); the HTTP
edge is one bounded request through a caller-owned ``httpx.Client``. Network and HTTP
problems come back as an :class:`AttemptResult`, never as exceptions; see the package
docstring for how they are classified. An unserializable payload is our bug and raises.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from config.destinations import WebhookDestination
from workers.desks.base import AttemptResult, Outcome
from workers.desks.signing import (
    EVENT_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)

USER_AGENT = "omniroute/0.1"
# Statuses that mean "not now": Request Timeout, Too Early, Too Many Requests.
RETRYABLE_4XX = frozenset({408, 425, 429})
# We only look for an id in the answer; a receiver cannot make us buffer more than this.
MAX_RESPONSE_BYTES = 64 * 1024
ERROR_BODY_CHARS = 200
MAX_EXTERNAL_ID_CHARS = 255


def post_webhook(
    client: httpx.Client,
    destination: WebhookDestination,
    *,
    event: str,
    payload: Mapping[str, Any],
    idempotency_key: str,
    secret: bytes,
    now: int,
) -> AttemptResult:
    """Deliver ``payload`` to ``destination`` once, signed with ``secret`` at ``now``.

    ``now`` is Unix seconds; it is both the signed timestamp and the reference for an
    HTTP-date ``Retry-After``. Redirects are never followed, whatever the client says:
    a redirected POST would lose its body or its signature's meaning.
    """
    if not secret:
        return _result(Outcome.REJECTED, error="signing secret is empty")
    body = encode_payload(payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(now),
        SIGNATURE_HEADER: sign(secret, now, body),
        IDEMPOTENCY_HEADER: idempotency_key,
        EVENT_HEADER: event,
    }
    timeout = destination.timeout_seconds
    started = time.monotonic()
    try:
        with client.stream(
            "POST",
            str(destination.url),
            content=body,
            headers=headers,
            timeout=timeout,
            follow_redirects=False,
        ) as response:
            answer = _read_bounded(response)
    except httpx.TimeoutException:
        return _result(Outcome.RETRY, error=f"timed out after {timeout}s", started=started)
    except httpx.RequestError as exc:
        return _result(Outcome.RETRY, error=_describe(exc), started=started)
    return classify(response.status_code, response.headers, answer, now=now, started=started)


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """Compact, key-sorted UTF-8 JSON: the exact bytes that are signed and sent."""
    return json.dumps(
        dict(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def classify(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    started: float | None = None,
) -> AttemptResult:
    """Turn a received HTTP answer into an outcome; pure apart from the clock for timing."""
    if 200 <= status < 300:
        return _result(
            Outcome.DELIVERED, status=status, external_id=parse_external_id(body), started=started
        )
    if 300 <= status < 400:
        location = headers.get("location", "")
        where = f" to {_truncate(location)}" if location else ""
        error = f"HTTP {status} from receiver: redirects are not followed{where}"
        return _result(Outcome.REJECTED, status=status, error=error, started=started)
    error = f"HTTP {status} from receiver"
    snippet = _truncate(body.decode("utf-8", errors="replace"))
    if snippet:
        error = f"{error}: {snippet}"
    if status in RETRYABLE_4XX or 500 <= status < 600:
        retry_after = retry_after_seconds(headers.get("retry-after"), now=now)
        return _result(
            Outcome.RETRY, status=status, error=error, retry_after=retry_after, started=started
        )
    return _result(Outcome.REJECTED, status=status, error=error, started=started)


def retry_after_seconds(value: str | None, *, now: int) -> float | None:
    """``Retry-After`` as seconds from ``now``: delay-seconds or an HTTP-date (RFC 9110 10.2.3).

    None when absent or unparseable; a date in the past means "now" (0.0).
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        return None
    return max(0.0, when.timestamp() - now)


def parse_external_id(body: bytes) -> str | None:
    """The receiver's ticket id from a JSON object's ``id`` or ``ticket_id``, if any.

    Never fails: a non-JSON body, a non-object, or an id that is not a short string or
    integer gives None.
    """
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict):
        return None
    for key in ("id", "ticket_id"):
        value = document.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and 0 < len(value) <= MAX_EXTERNAL_ID_CHARS:
            return value
    return None


def _read_bounded(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE_BYTES:
            break
    return b"".join(chunks)[:MAX_RESPONSE_BYTES]


def _describe(exc: httpx.RequestError) -> str:
    detail = str(exc) or type(exc).__name__
    kind = "connection failed" if isinstance(exc, httpx.ConnectError) else "transport error"
    return f"{kind}: {_truncate(detail)}"


def _truncate(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > ERROR_BODY_CHARS:
        return text[: ERROR_BODY_CHARS - 1] + "…"
    return text


def _result(
    outcome: Outcome,
    *,
    status: int | None = None,
    error: str | None = None,
    retry_after: float | None = None,
    external_id: str | None = None,
    started: float | None = None,
) -> AttemptResult:
    duration_ms = 0 if started is None else round((time.monotonic() - started) * 1000)
    return AttemptResult(
        outcome=outcome,
        status_code=status,
        error=error,
        retry_after_seconds=retry_after,
        external_id=external_id,
        duration_ms=duration_ms,
    )
