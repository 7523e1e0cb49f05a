"""``GET|POST /t/{token}``: the customer's follow-up page for one ticket.

The token is the credential: signed over the ticket and its expiry, refused when
tampered with (``404``), expired or revoked (``410``). The page shows the
customer-visible conversation and a reply form; a reply is accepted like any web
submission (raw first, then the inline ingest) and threads onto the ticket through
its web conversation key.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from channels.webforms.client import client_ip
from channels.webforms.intake import Intake, Sender
from channels.webforms.pages import notice, page
from channels.webforms.submit import RETRY_AFTER_STORE, STORE_DOWN, read_bounded
from config.form_settings import FormSettings
from config.settings import Settings
from ingest.errors import StoreUnavailable
from ingest.follow_ups import Shown, WebConversation, revoked_at, visible_messages, web_conversation
from ingest.rate_buckets import Limit, Refusal
from ingest.raw_inputs import RawInput
from normalize.form_tokens import read_follow_up
from normalize.webform import CHANNEL

MAX_REPLY_CHARS = 20_000
MAX_BODY_BYTES = 256 * 1024
FOLLOW_UP = "follow-up"
GONE = "This link has expired or was withdrawn. Reply to our email to reach us."


@dataclass(frozen=True, slots=True)
class FollowUpEdge:
    sessions: sessionmaker[Session]
    settings: Settings
    limits: FormSettings
    intake: Intake
    on_work: Callable[[], None] | None = None

    async def show(self, request: Request) -> Response:
        token = request.path_params["token"]
        try:
            found = await asyncio.to_thread(self._load, token)
        except StoreUnavailable:
            return notice(
                "Please try again", STORE_DOWN, 503, None, {"Retry-After": RETRY_AFTER_STORE}
            )
        if isinstance(found, Response):
            return found
        conversation, messages = found
        notice_text = (
            "Thank you, your message was added." if request.query_params.get("sent") else None
        )
        return self._page(request, conversation, messages, notice_text=notice_text)

    async def reply(self, request: Request) -> Response:
        token = request.path_params["token"]
        wants_json = "application/json" in request.headers.get("accept", "").lower()
        body = await read_bounded(request, MAX_BODY_BYTES)
        if body is None:
            return _answer(wants_json, 413, f"The message is longer than {MAX_BODY_BYTES} bytes.")
        text = _message_of(request, body)
        try:
            found = await asyncio.to_thread(self._load, token)
        except StoreUnavailable:
            return _answer(wants_json, 503, STORE_DOWN, {"Retry-After": RETRY_AFTER_STORE})
        if isinstance(found, Response):
            return found
        conversation, messages = found
        error = None
        if not text:
            error = "Please write a message."
        elif len(text) > MAX_REPLY_CHARS:
            error = (
                f"The message is too long ({len(text)} of at most {MAX_REPLY_CHARS} characters)."
            )
        if error is not None:
            if wants_json:
                return JSONResponse({"error": error, "errors": {"message": error}}, status_code=422)
            return self._page(request, conversation, messages, error=error, draft=text, status=422)
        answers = sum(1 for m in messages if not m.from_customer)
        raw, envelope, key = _reply_record(request, token, conversation, answers, text)
        ip = client_ip(request, self.limits.trusted_proxies)
        limits = self.limits
        buckets = [
            Limit(f"form-ip:{ip}", limits.ip_burst, limits.ip_per_hour),
            Limit(f"follow-up:{conversation.ticket_id}", limits.email_burst, limits.email_per_hour),
        ]
        try:
            stored = await self.intake.stored(
                RawInput(CHANNEL, key, raw, envelope),
                buckets,
                Sender(FOLLOW_UP, ip, conversation.email),
            )
        except StoreUnavailable:
            return _answer(wants_json, 503, STORE_DOWN, {"Retry-After": RETRY_AFTER_STORE})
        if isinstance(stored, Refusal):
            headers = {"Retry-After": str(stored.retry_after)}
            message = "Too many messages at once. Please try again a little later."
            return _answer(wants_json, 429, message, headers)
        ticket = stored
        if self.on_work is not None:
            self.on_work()
        if wants_json:
            view = None if ticket is None else {"number": ticket.number, "status": ticket.status}
            return JSONResponse({"ticket": view}, status_code=201 if ticket else 202)
        return RedirectResponse(f"/t/{token}?sent=1", status_code=303)

    def _load(self, token: str) -> tuple[WebConversation, list[Shown]] | Response:
        follow_up = read_follow_up(self.settings.signing_key, token)
        if follow_up is None:
            return notice(
                "Link not valid", "This link is not valid. Please check you copied all of it.", 404
            )
        if follow_up.expires < int(time.time()):
            return notice("Link expired", GONE, 410)
        with self.sessions() as session:
            revoked = revoked_at(session, follow_up.ticket)
            if revoked is not None and follow_up.issued <= revoked.timestamp():
                return notice("Link withdrawn", GONE, 410)
            conversation = web_conversation(session, follow_up.ticket)
            if conversation is None:
                return notice("Link not valid", "This ticket has no web conversation.", 404)
            return conversation, visible_messages(session, follow_up.ticket)

    def _page(
        self,
        request: Request,
        conversation: WebConversation,
        messages: list[Shown],
        *,
        notice_text: str | None = None,
        error: str | None = None,
        draft: str = "",
        status: int = 200,
    ) -> Response:
        return page(
            "follow_up.html",
            status,
            {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
            title=f"Ticket #{conversation.ticket_id}",
            number=conversation.ticket_id,
            subject=conversation.subject,
            ticket_status=conversation.status,
            messages=messages,
            action=request.url.path,
            notice=notice_text,
            error=error,
            draft=draft,
            limit=MAX_REPLY_CHARS,
        )


def _message_of(request: Request, body: bytes) -> str:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            value = json.loads(body).get("message", "")
        except (ValueError, AttributeError):
            return ""
        return str(value).replace("\r\n", "\n").strip()
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return fields.get("message", [""])[0].replace("\r\n", "\n").strip()


def _reply_record(
    request: Request, token: str, conversation: WebConversation, answers: int, text: str
) -> tuple[bytes, dict[str, Any], str]:
    """The stored reply, its envelope and dedupe key: a double click (same text, nothing
    new on the page) is one message; the same words after an answer are a new one."""
    values = {"email": conversation.email, "name": conversation.name, "message": text}
    raw = json.dumps({"form": "follow-up", "values": values, "files": []}, sort_keys=True).encode()
    idempotency = request.headers.get("idempotency-key", "").strip()
    seed = f"key\x1f{idempotency}" if idempotency else f"post\x1f{answers}\x1f{text}"
    digest = hashlib.sha256(f"follow-up\x1f{token}\x1f{seed}".encode()).hexdigest()[:40]
    envelope: dict[str, Any] = {
        "form": "follow-up",
        "ticket": conversation.ticket_id,
        "submission_id": digest,
        "conversation_key": conversation.conversation_key,
        "email_field": "email",
        "name_field": "name",
        "subject": f"Re: {conversation.subject}",
        "body_fields": ["message"],
    }
    return raw, envelope, f"web:{digest}"


def _answer(
    wants_json: bool, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    if wants_json:
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    return notice("Not sent", message, status, None, headers)
