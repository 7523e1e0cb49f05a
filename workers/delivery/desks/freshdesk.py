"""The Freshdesk destination: one ticket per omniroute ticket, follow-ups as notes or replies.

Freshdesk API v2 (https://developers.freshdesk.com/api/):

- create: ``POST /api/v2/tickets`` with ``email``, ``name``, ``subject``,
  ``description`` (HTML), ``priority`` 1-4, ``status`` 2 (open), ``group_id`` from
  the team, and ``tags``, which always include ``omniroute-<number>``;
- follow-up: ``POST /api/v2/tickets/{id}/notes`` (public, ``incoming``: shown as
  coming from outside) or ``POST /api/v2/tickets/{id}/reply`` (``followups: reply``);
- escalation (``ticket.escalated``) of a ticket already there: ``PUT
  /api/v2/tickets/{id}`` with the ticket's current priority, then a private note;
- attachments: the same requests as ``multipart/form-data`` with ``attachments[]``.

Auth is the API key as the basic-auth user with ``X`` as the password. ``429`` is
retried honouring ``Retry-After``; 401/403/404 are rejected. Idempotency: Freshdesk
has no external id on tickets, so the tag ``omniroute-<number>`` is ours; once an
attempt was started the next one searches for it first
(``GET /api/v2/search/tickets?query="tag:'omniroute-<number>'"``). A follow-up ends
with the line ``[omniroute #<number> message <id>]`` and is looked for among the
ticket's conversations (``GET /api/v2/tickets/{id}/conversations``) the same way.
The external id of every delivery is the Freshdesk ticket id.
"""

from __future__ import annotations

import html
from typing import Any

import httpx

from config.destinations import FreshdeskDestination
from workers.delivery.desks import http
from workers.delivery.desks.base import AttemptResult, Outcome, read_secret, result
from workers.delivery.desks.handoff import PRIORITY_RANK, DeskContext, Handoff, parent_ticket_id
from workers.delivery.desks.http import json_field, json_id
from workers.delivery.planning import ESCALATED, MESSAGE_APPENDED, TICKET_CREATED

EVENTS = frozenset({TICKET_CREATED, MESSAGE_APPENDED, ESCALATED})
STATUS_OPEN = 2
WHO = "Freshdesk"


def tag(ticket_number: int) -> str:
    """The tag that marks our ticket in Freshdesk, and how we find it again."""
    return f"omniroute-{ticket_number}"


def marker(handoff: Handoff) -> str:
    """The last line of a follow-up, and how we find it again."""
    return f"[omniroute #{handoff.ticket_number} message {handoff.message_id}]"


def send(
    context: DeskContext, destination: FreshdeskDestination, handoff: Handoff
) -> AttemptResult:
    """One attempt of ``handoff`` against the Freshdesk account at ``destination.url``."""
    key = read_secret(destination.api_key_env)
    if isinstance(key, AttemptResult):
        return key
    api = _Api(
        context.http,
        str(destination.url),
        httpx.BasicAuth(key, "X"),
        timeout=destination.timeout_seconds,
        now=context.now(),
        who=WHO,
    )
    if handoff.event == TICKET_CREATED:
        return _create(api, destination, handoff)
    return _follow_up(api, destination, handoff)


class _Api(http.DeskApi):
    """The desk API, plus Freshdesk's way of sending attachments."""

    def post(
        self, path: str, fields: dict[str, Any], handoff: Handoff
    ) -> http.Answer | AttemptResult:
        """JSON, or multipart when there are attachments (Freshdesk takes no upload tokens)."""
        files = [
            ("attachments[]", (a.filename, a.read(), a.content_type or "application/octet-stream"))
            for a in handoff.sendable_attachments
        ]
        if not files:
            return self.call("POST", path, json=fields)
        form = {
            (f"{name}[]" if isinstance(value, list) else name): (
                [str(v) for v in value] if isinstance(value, list) else _form_value(value)
            )
            for name, value in fields.items()
        }
        return self.call("POST", path, data=form, files=files)


def _create(api: _Api, destination: FreshdeskDestination, handoff: Handoff) -> AttemptResult:
    ours = tag(handoff.ticket_number)
    if not handoff.customer_email:
        return result(Outcome.REJECTED, error="Freshdesk needs the customer's email address")
    if handoff.seen_before:
        found = api.call("GET", "/api/v2/search/tickets", params={"query": f"\"tag:'{ours}'\""})
        if isinstance(found, AttemptResult):
            return found
        results = json_field(found.json(), "results")
        if isinstance(results, list) and results and json_id(results[0]) is not None:
            return api.delivered(str(json_id(results[0])))
    fields: dict[str, Any] = {
        "email": handoff.customer_email,
        "subject": handoff.subject.strip() or "(no subject)",
        "description": _html(handoff, with_marker=False),
        "priority": PRIORITY_RANK.get(handoff.priority or "", 2),
        "status": STATUS_OPEN,
        "tags": _tags(destination, handoff, ours),
    }
    if handoff.customer_name.strip():
        fields["name"] = handoff.customer_name.strip()
    group = destination.group_ids.get(handoff.team or "")
    if group is not None:
        fields["group_id"] = group
    created = api.post("/api/v2/tickets", fields, handoff)
    if isinstance(created, AttemptResult):
        return created
    number = json_id(created.json())
    if number is None:
        return api.malformed("a ticket id")
    return api.delivered(str(number))


def _follow_up(api: _Api, destination: FreshdeskDestination, handoff: Handoff) -> AttemptResult:
    ticket_id = parent_ticket_id(handoff, WHO)
    if isinstance(ticket_id, AttemptResult):
        return ticket_id
    path = f"/api/v2/tickets/{ticket_id}"
    if handoff.seen_before:
        conversations = api.call("GET", f"{path}/conversations")
        if isinstance(conversations, AttemptResult):
            return conversations
        mark = marker(handoff)
        for entry in conversations.json() or []:
            text = f"{json_field(entry, 'body_text') or ''} {json_field(entry, 'body') or ''}"
            if mark in html.unescape(text):
                return api.delivered(ticket_id)
    body = _html(handoff, with_marker=True)
    if handoff.event == ESCALATED:
        priority = {"priority": PRIORITY_RANK.get(handoff.priority or "", 2)}
        raised = api.call("PUT", path, json=priority)
        if isinstance(raised, AttemptResult):
            return raised
        answer = api.call("POST", f"{path}/notes", json={"body": body, "private": True})
    elif destination.followups == "reply":
        answer = api.post(f"{path}/reply", {"body": body}, handoff)
    else:
        note = {"body": body, "private": False, "incoming": True}
        answer = api.post(f"{path}/notes", note, handoff)
    if isinstance(answer, AttemptResult):
        return answer
    return api.delivered(ticket_id)


def _html(handoff: Handoff, *, with_marker: bool) -> str:
    """The message as the HTML Freshdesk wants: escaped text, line breaks kept."""
    paragraphs = []
    if handoff.message_from_someone_else:
        paragraphs.append(f"From: {handoff.message_from}")
    paragraphs.append(handoff.body_text.strip() or "(no text)")
    paragraphs += handoff.unforwarded_notes()
    if with_marker:
        paragraphs.append(marker(handoff))
    return "".join("<p>" + html.escape(text).replace("\n", "<br>") + "</p>" for text in paragraphs)


def _tags(destination: FreshdeskDestination, handoff: Handoff, ours: str) -> list[str]:
    tags: list[str] = []
    for value in (*destination.tags, *handoff.tags, ours):
        word = " ".join(str(value).split())
        if word and word not in tags:
            tags.append(word)
    return tags


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
