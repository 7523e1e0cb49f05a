"""``GET|POST /forms/{form}``: the hosted form, and a post becoming a ticket.

A post is bounded (body size), decoded (urlencoded, multipart or JSON), guarded
(Origin/Referer, honeypot, signed form token, time trap), validated (every field's
problem at once), rate limited (client IP, email, form: token buckets in the
store), committed raw with its dedupe key (an ``Idempotency-Key`` or a hash of the
token and content, so a double click is one ticket), then ingested inline so the
answer names the ticket. Refused abuse is recorded, never silently dropped; a
store outage answers ``503`` with ``Retry-After`` and leaves nothing half-made.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from channels.webforms import guards
from channels.webforms.client import client_ip
from channels.webforms.decode import HONEYPOT_FIELD, TOKEN_FIELD, Decoded, decode_body
from channels.webforms.inline import TicketView
from channels.webforms.intake import Intake, Sender
from channels.webforms.links import expiry_text, follow_up_path
from channels.webforms.pages import notice, page
from channels.webforms.validate import Checked, check_submission
from config.form_settings import FormSettings
from config.forms import FormSpec
from config.settings import Settings
from ingest.errors import StoreUnavailable
from ingest.form_refusals import Refused
from ingest.rate_buckets import Limit, Refusal
from ingest.raw_inputs import RawInput
from normalize.form_tokens import form_token
from normalize.webform import CHANNEL, form_tags

RETRY_AFTER_STORE = "5"
STORE_DOWN = (
    "We cannot take your request right now. Nothing was saved; please send it again in a minute."
)


@dataclass(frozen=True, slots=True)
class FormEdge:
    """The endpoints of every configured form."""

    settings: Settings
    limits: FormSettings
    forms: dict[str, FormSpec]
    intake: Intake
    on_work: Callable[[], None] | None = None

    async def show(self, request: Request) -> Response:
        name = request.path_params["form"]
        form = self.forms.get(name)
        if form is None:
            return notice("No such form", f"There is no form called {name!r}.", 404)
        return self._form_page(request, name=name, form=form, values={}, errors={})

    async def submit(self, request: Request) -> Response:
        name = request.path_params["form"]
        form = self.forms.get(name)
        wants_json = _wants_json(request)
        if form is None:
            return _answer(wants_json, 404, "No such form", f"There is no form called {name!r}.")
        raw = await read_bounded(request, self.limits.max_body_bytes)
        if raw is None:
            return _answer(
                wants_json,
                413,
                "Too large",
                f"The request is larger than {self.limits.max_body_bytes} bytes; "
                "send fewer or smaller files.",
                back=f"/forms/{name}",
            )
        decoded = await decode_body(request, raw, self.limits.max_files)
        wants_json = wants_json or (decoded.is_json and "text/html" not in _accept(request))
        if decoded.problem is not None:
            return _answer(
                wants_json, 400, "Unreadable form", decoded.problem, back=f"/forms/{name}"
            )
        ip = client_ip(request, self.limits.trusted_proxies)
        post = guards.Post(
            form=name,
            token=decoded.values.get(TOKEN_FIELD, ""),
            honeypot=decoded.values.get(HONEYPOT_FIELD, ""),
            origin=guards.origin_of(request.headers.get("origin"), request.headers.get("referer")),
            own_host=request.headers.get("host", ""),
            now=int(time.time()),
        )
        caught = guards.check_post(
            post,
            secret=self.settings.signing_key,
            allowed_origins=form.allowed_origins,
            min_seconds=self.limits.min_seconds,
            max_age_seconds=int(self.limits.token_max_age_seconds),
        )
        if caught is not None:
            return await self._refuse(
                request,
                name=name,
                form=form,
                decoded=decoded,
                ip=ip,
                caught=caught,
                wants_json=wants_json,
            )
        if self.limits.check_mx:
            # MX look-ups are DNS queries: off the event loop.
            checked = await asyncio.to_thread(check_submission, form, decoded, self.limits)
        else:
            checked = check_submission(form, decoded, self.limits)
        if checked.errors:
            if wants_json:
                return JSONResponse(
                    {"error": "the form has problems", "errors": checked.errors}, status_code=422
                )
            return self._form_page(
                request,
                name=name,
                form=form,
                values=decoded.values,
                errors=checked.errors,
                status=422,
            )
        email = checked.values.get(form.email_field, "")
        raw_doc, envelope, key = self._submission(
            request, name=name, form=form, token=post.token, checked=checked, ip=ip
        )
        try:
            item = RawInput(CHANNEL, key, raw_doc, envelope)
            stored = await self.intake.stored(
                item, self._buckets(name, ip, email), Sender(name, ip, email)
            )
        except StoreUnavailable:
            return _store_down(wants_json)
        if isinstance(stored, Refusal):
            wait = str(stored.retry_after)
            message = (
                "Too many requests have come from here or for this address. "
                f"Please try again in {_minutes(stored.retry_after)}."
            )
            if wants_json:
                return JSONResponse(
                    {"error": message, "retry_after": stored.retry_after},
                    status_code=429,
                    headers={"Retry-After": wait},
                )
            return notice(
                "Please wait a little", message, 429, f"/forms/{name}", {"Retry-After": wait}
            )
        if self.on_work is not None:
            self.on_work()
        return self._thanks(request, form, stored, wants_json)

    def _buckets(self, form: str, ip: str, email: str) -> list[Limit]:
        limits = self.limits
        return [
            Limit(f"form-ip:{ip}", limits.ip_burst, limits.ip_per_hour),
            Limit(f"form-email:{email}", limits.email_burst, limits.email_per_hour),
            Limit(f"form:{form}", limits.form_burst, limits.form_per_hour),
        ]

    async def _refuse(
        self,
        request: Request,
        *,
        name: str,
        form: FormSpec,
        decoded: Decoded,
        ip: str,
        caught: guards.Caught,
        wants_json: bool,
    ) -> Response:
        # Kept whole (every field as sent, every file), so a false positive can be released.
        hidden = (TOKEN_FIELD, HONEYPOT_FIELD)
        kept = Checked(
            values={k: v for k, v in decoded.values.items() if k not in hidden},
            files=decoded.files,
        )
        raw_doc, envelope, _ = self._submission(
            request, name=name, form=form, token="", checked=kept, ip=ip
        )
        email = decoded.values.get(form.email_field, "")
        try:
            await asyncio.to_thread(
                self.intake.record,
                Refused(name, caught.reason, caught.detail, ip, email, raw_doc, envelope),
            )
        except StoreUnavailable:
            return _store_down(wants_json)
        status = 403 if caught.reason == guards.ORIGIN else 400
        if caught.reason == guards.TIME_TRAP:
            message = "That was very quick. Please check your request and send it again."
        elif caught.reason == guards.EXPIRED_TOKEN:
            message = "The form was open too long. Please send it again."
        elif caught.reason == guards.ORIGIN:
            message = "This form cannot be sent from that site."
        else:
            message = (
                "Your request looks automated and was not accepted; it has been kept for review."
            )
        if wants_json:
            return JSONResponse({"error": message, "reason": caught.reason}, status_code=status)
        if caught.reason in (guards.TIME_TRAP, guards.EXPIRED_TOKEN):
            # A person gets the form back, filled in, with a fresh token.
            return self._form_page(
                request,
                name=name,
                form=form,
                values=decoded.values,
                errors={},
                status=status,
                notice_text=message,
            )
        return notice("Not accepted", message, status, f"/forms/{name}")

    def _submission(
        self, request: Request, *, name: str, form: FormSpec, token: str, checked: Checked, ip: str
    ) -> tuple[bytes, dict[str, Any], str]:
        """The stored document, its envelope and its dedupe key."""
        files = [
            {
                "field": f.field,
                "filename": f.filename,
                "content_type": f.content_type,
                "data": base64.b64encode(f.data).decode("ascii"),
            }
            for f in checked.files
        ]
        document = {"form": name, "values": checked.values, "files": files}
        raw = json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8")
        idempotency = request.headers.get("idempotency-key", "").strip()
        seed = f"key\x1f{idempotency}" if idempotency else f"post\x1f{token}\x1f{raw.decode()}"
        digest = hashlib.sha256(f"{name}\x1f{seed}".encode()).hexdigest()[:40]
        envelope: dict[str, Any] = {
            "form": name,
            "submission_id": digest,
            "conversation_key": f"web:{digest[:24]}",
            "email_field": form.email_field,
            "name_field": form.name_field,
            "subject_field": form.subject,
            "body_fields": list(form.body_fields),
            "custom_fields": list(form.custom_fields),
            "tags": form_tags(checked.values, form.tags),
            "labels": {f.name: f.label for f in form.fields},
            "acknowledge": form.acknowledge,
            "client_ip": ip,
        }
        if token:
            # An accepted post: its conversation key is its own, new unless the post is
            # a repeat, and a repeat is never ingested again. (A refused post, kept
            # without its token, may share its key with an identical one.)
            envelope["opens_conversation"] = True
        return raw, envelope, f"web:{digest}"

    def _thanks(
        self, request: Request, form: FormSpec, ticket: TicketView | None, wants_json: bool
    ) -> Response:
        if ticket is None:
            message = "We have received your request; its ticket number follows by email."
            if wants_json:
                return JSONResponse({"ticket": None, "status": "accepted", "message": message}, 202)
            return notice("Thank you", message, 202)
        path, expires = follow_up_path(
            self.settings.signing_key, ticket.number, self.limits.follow_up_days
        )
        follow_up_url = str(request.base_url).rstrip("/") + path
        if wants_json:
            return JSONResponse(
                {
                    "ticket": {"number": ticket.number, "status": ticket.status},
                    "follow_up_url": follow_up_url,
                },
                status_code=201,
            )
        if form.thank_you_url:
            joiner = "&" if "?" in form.thank_you_url else "?"
            target = form.thank_you_url + joiner + urlencode({"ticket": ticket.number})
            return RedirectResponse(target, status_code=303)
        return page(
            "thanks.html",
            title=f"Ticket #{ticket.number}",
            number=ticket.number,
            follow_up_url=follow_up_url,
            expires=expiry_text(expires),
        )

    def _form_page(
        self,
        request: Request,
        *,
        name: str,
        form: FormSpec,
        values: dict[str, str],
        errors: dict[str, str],
        status: int = 200,
        notice_text: str | None = None,
    ) -> Response:
        limits = self.limits
        token = form_token(self.settings.signing_key, name, int(time.time()))
        kept = {k: v for k, v in values.items() if k not in (TOKEN_FIELD, HONEYPOT_FIELD)}
        return page(
            "form.html",
            status,
            {"Cache-Control": "no-store"},
            title=form.title,
            form=form,
            action=f"/forms/{name}",
            token=token,
            values=kept,
            errors=errors,
            notice=notice_text,
            accept=",".join(limits.content_types),
            accept_names=", ".join(t.split("/")[-1].upper() for t in limits.content_types),
            max_files=limits.max_files,
            max_file_size=f"{limits.max_file_bytes / (1024 * 1024):g} MB",
        )


def _accept(request: Request) -> str:
    return request.headers.get("accept", "").lower()


def _wants_json(request: Request) -> bool:
    return "application/json" in _accept(request)


def _answer(
    wants_json: bool, status: int, title: str, message: str, back: str | None = None
) -> Response:
    if wants_json:
        return JSONResponse({"error": message}, status_code=status)
    return notice(title, message, status, back)


def _store_down(wants_json: bool) -> Response:
    headers = {"Retry-After": RETRY_AFTER_STORE}
    if wants_json:
        return JSONResponse({"error": STORE_DOWN}, status_code=503, headers=headers)
    return notice("Please try again", STORE_DOWN, 503, None, headers)


def _minutes(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"


async def read_bounded(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is longer than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
