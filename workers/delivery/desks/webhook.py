"""The signed-webhook destination: POST one signed JSON document, classify the answer.

Every event goes out the same way (``ticket.created``, ``message.appended``,
``ticket.status_changed``, ``ticket.escalated``; the document is described in the
README). The core is pure (serialize, sign, classify); the HTTP edge is one bounded
request through a caller-owned ``httpx.Client``. Network and HTTP problems come back
as an :class:`AttemptResult`, never as exceptions; an unserializable payload is our
bug and raises. The receiver keeps one record per ``Idempotency-Key``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from config.destinations import WebhookDestination
from normalize.storable import storable
from workers.delivery.desks import http
from workers.delivery.desks.base import AttemptResult, Outcome, read_secret, result
from workers.delivery.desks.handoff import DeskContext, Handoff
from workers.delivery.desks.signing import (
    EVENT_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)
from workers.delivery.planning import ESCALATED, MESSAGE_APPENDED, STATUS_CHANGED, TICKET_CREATED

EVENTS = frozenset({TICKET_CREATED, MESSAGE_APPENDED, STATUS_CHANGED, ESCALATED})
USER_AGENT = http.USER_AGENT
MAX_EXTERNAL_ID_CHARS = 255


def send(context: DeskContext, destination: WebhookDestination, handoff: Handoff) -> AttemptResult:
    """One attempt of ``handoff`` to a webhook destination (the desk-client entry point)."""
    secret = read_secret(destination.secret_env)
    if isinstance(secret, AttemptResult):
        return secret
    return post_webhook(
        context.http,
        destination,
        event=handoff.event,
        payload=handoff.document,
        idempotency_key=handoff.idempotency_key,
        secret=secret.encode(),
        now=context.now(),
    )


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
        return result(Outcome.REJECTED, error="signing secret is empty")
    body = encode_payload(payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(now),
        SIGNATURE_HEADER: sign(secret, now, body),
        IDEMPOTENCY_HEADER: idempotency_key,
        EVENT_HEADER: event,
    }
    started = time.monotonic()
    answer = http.request(
        client,
        "POST",
        str(destination.url),
        timeout=destination.timeout_seconds,
        started=started,
        content=body,
        headers=headers,
    )
    if isinstance(answer, AttemptResult):
        return answer
    if answer.ok:
        external_id = parse_external_id(answer.body)
        return result(
            Outcome.DELIVERED, status=answer.status, external_id=external_id, started=started
        )
    return http.failure(answer, now=now, started=started)


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """Compact, key-sorted UTF-8 JSON: the exact bytes that are signed and sent."""
    return json.dumps(
        dict(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def parse_external_id(body: bytes) -> str | None:
    """The receiver's ticket id from a JSON object's ``id`` or ``ticket_id``, if any.

    Never fails: a non-JSON body, a non-object, or an id that is not a short string or
    integer gives None; a NUL in it (which the store cannot keep) is left out.
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
            return storable(value) or None
    return None
