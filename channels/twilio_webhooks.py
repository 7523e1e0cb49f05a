"""Twilio's webhooks: ``POST /webhooks/twilio/sms`` (SMS, MMS, WhatsApp) and ``/status``.

The edge does the least it can: bound the body, verify the signature
(:mod:`channels.twilio_verify`; ``403`` and nothing stored when it fails, unless
report-only mode is on), commit the raw request with ``twilio:<MessageSid>`` as
its dedupe key (Twilio's retries are duplicates, not second messages), and
answer an empty TwiML response. A status callback is committed as outbox work
for :mod:`channels.twilio_status`, which may have to wait for the send that it
reports on to be recorded. Everything else happens in workers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from channels import replies
from channels.batch_writer import BatchWriter
from channels.edge_metrics import refused
from channels.twilio_verify import signed_url, verify
from config.settings import Settings
from ingest import outbox
from ingest.db import unit_of_work
from ingest.errors import StoreUnavailable
from ingest.models import utcnow
from ingest.raw_inputs import RawInput, RawSpill
from ingest.write_gate import edge_writes
from normalize.twilio import message_sid

log = logging.getLogger(__name__)

CHANNEL = "twilio"
STATUS = "twilio_status"
# Twilio's own parameters are a few kilobytes; a body past this is not Twilio's.
MAX_BODY_BYTES = 64 * 1024


def twilio_routes(
    settings: Settings,
    sessions: sessionmaker[Session],
    registry: CollectorRegistry,
    on_work: Callable[[], None] | None = None,
) -> list[Route]:
    """The two webhook routes, counting verification failures in ``registry``."""
    failures = Counter(
        "omniroute_twilio_signature_failures",
        "Twilio webhook requests whose signature did not verify, by reason",
        labelnames=["reason"],
        registry=registry,
    )
    writer: BatchWriter | None = None

    async def verified(request: Request) -> tuple[bytes, dict[str, str], str] | Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            refused(CHANNEL, "too big")
            return PlainTextResponse(
                replies.HTTP_413_TOO_BIG.format(limit=MAX_BODY_BYTES), status_code=413
            )
        is_json = request.headers.get("content-type", "").startswith("application/json")
        params, form = _params(body, is_json)
        url = signed_url(
            scheme=request.url.scheme,
            host=request.headers.get("host", request.url.netloc),
            path=request.url.path,
            query=request.url.query,
            peer=request.client.host if request.client else None,
            headers=request.headers,
            public_url=settings.public_url,
            trusted_proxies=settings.trusted_proxies,
        )
        verdict = verify(
            settings.twilio,
            url=url,
            account_sid=form.get("AccountSid", ""),
            params=params,
            headers=request.headers,
        )
        if verdict.failure is not None:
            failures.labels(reason=verdict.failure).inc()
            report_only = settings.twilio_signature_mode == "report"
            log.warning(
                "twilio webhook %s for %s: %s%s",
                request.url.path,
                url,
                verdict.failure,
                " (report-only: accepted)" if report_only else "",
            )
            if not report_only:
                refused(CHANNEL, verdict.failure)
                return PlainTextResponse(replies.HTTP_403_TWILIO_SIGNATURE, status_code=403)
        return body, form, "json" if is_json else "form"

    async def incoming(request: Request) -> Response:
        nonlocal writer
        checked = await verified(request)
        if isinstance(checked, Response):
            return checked
        body, form, content_type = checked
        sid = message_sid(form)
        # A signed request without a MessageSid is kept (and quarantined by the parser).
        key = f"{CHANNEL}:{sid}" if sid else f"{CHANNEL}:sha256:{hashlib.sha256(body).hexdigest()}"
        envelope: dict[str, Any] = {
            "content_type": content_type,
            "account_sid": form.get("AccountSid", ""),
            "rcpt_tos": [form["To"]] if form.get("To") else [],
        }
        if writer is None:
            writer = BatchWriter(sessions, spill=RawSpill.for_settings(settings))
        try:
            accepted = await writer.accept(RawInput(CHANNEL, key, body, envelope))
        except StoreUnavailable as exc:
            log.warning("twilio message %s not stored, Twilio will retry: %s", sid, exc)
            return _store_down()
        if not accepted.duplicate and on_work is not None:
            on_work()
        return Response(replies.TWIML_EMPTY, media_type=replies.TWIML_MEDIA_TYPE)

    async def status(request: Request) -> Response:
        checked = await verified(request)
        if isinstance(checked, Response):
            return checked
        _, form, _ = checked
        sid, state = message_sid(form), form.get("MessageStatus", "")
        if not sid or not state:
            return PlainTextResponse("MessageSid and MessageStatus are required", status_code=400)

        def store() -> None:
            with edge_writes(), unit_of_work(sessions) as session:
                outbox.add_work(
                    session,
                    STATUS,
                    sid=sid,
                    status=state,
                    error_code=form.get("ErrorCode", ""),
                    received_at=utcnow().isoformat(),
                )

        try:
            await asyncio.to_thread(store)
        except StoreUnavailable as exc:
            log.warning("twilio status for %s not stored, Twilio will retry: %s", sid, exc)
            return _store_down()
        if on_work is not None:
            on_work()
        return Response(replies.TWIML_EMPTY, media_type=replies.TWIML_MEDIA_TYPE)

    return [
        Route("/webhooks/twilio/sms", incoming, methods=["POST"]),
        Route("/webhooks/twilio/status", status, methods=["POST"]),
    ]


def openapi_paths() -> dict[str, Any]:
    """The two webhooks in the app's OpenAPI description (served only when configured)."""
    form = {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
    twiml = {"description": "Empty TwiML", "content": {replies.TWIML_MEDIA_TYPE: {}}}
    errors = {
        "403": {"description": "The X-Twilio-Signature did not verify; nothing was stored"},
        "413": {"description": f"The body is over {MAX_BODY_BYTES} bytes"},
        "503": {"description": "The store is unavailable; Twilio retries"},
    }
    signature = {
        "name": "X-Twilio-Signature",
        "in": "header",
        "required": True,
        "description": "Twilio's signature of the URL and parameters (auth token)",
        "schema": {"type": "string"},
    }

    def operation(summary: str) -> dict[str, Any]:
        return {
            "summary": summary,
            "security": [],
            "parameters": [signature],
            "requestBody": form,
            "responses": {"200": twiml, **errors},
        }

    return {
        "/webhooks/twilio/sms": {
            "post": operation("Twilio: an incoming SMS, MMS or WhatsApp message")
        },
        "/webhooks/twilio/status": {
            "post": operation("Twilio: the delivery status of a message we sent")
        },
    }


def _params(
    body: bytes, is_json: bool
) -> tuple[ImmutableMultiDict[str, str] | str, dict[str, str]]:
    """What the signature covers (the form's pairs, or the raw JSON text) and a flat view."""
    text = body.decode("utf-8", "replace")
    if is_json:
        try:
            data = json.loads(text)
        except ValueError:
            data = {}
        flat = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        return text, flat
    pairs = parse_qsl(text, keep_blank_values=True)
    return ImmutableMultiDict(pairs), dict(pairs)


def _store_down() -> Response:
    return PlainTextResponse(
        replies.HTTP_503_STORE_DOWN,
        status_code=503,
        headers={"Retry-After": replies.RETRY_AFTER_SECONDS},
    )
