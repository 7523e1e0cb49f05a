"""The Zendesk destination: one ticket per omniroute ticket, follow-ups as its comments.

Tickets API (https://developer.zendesk.com/api-reference/ticketing/):

- create: ``POST /api/v2/tickets.json`` with requester, subject, first comment (with
  upload tokens), priority (low/normal/high/urgent), ``group_id`` from the team,
  tags and ``external_id`` ``omniroute-<number>``;
- follow-up: ``PUT /api/v2/tickets/{id}.json`` with a public comment authored by the
  ticket's requester, and our delivery key in the audit's ``metadata.custom``;
- escalation (``ticket.escalated``) of a ticket already there: the same PUT with a
  private note (the timeline text) and the ticket's current priority;
- attachments: ``POST /api/v2/uploads.json?filename=...``, tokens in the comment.

Auth is an API token: ``{email}/token:{token}`` in HTTP basic auth. ``429`` and
``409`` (an update collision) are retried, honouring ``Retry-After``; 401/403/404/422
are rejected. Idempotency: once an attempt was started, the next one looks first,
for the ticket by ``external_id`` (``GET /api/v2/tickets.json?external_id=``) or for
the comment by its audit metadata (``GET /api/v2/tickets/{id}/audits.json``), so
re-running a delivery never makes a second ticket or comment. The external id of
every delivery is the Zendesk ticket id.
"""

from __future__ import annotations

from typing import Any

import httpx

from config.destinations import ZendeskDestination
from workers.delivery.desks import http
from workers.delivery.desks.base import AttemptResult, read_secret
from workers.delivery.desks.handoff import PRIORITY_RANK, DeskContext, Handoff, parent_ticket_id
from workers.delivery.desks.http import json_field, json_id
from workers.delivery.planning import ESCALATED, MESSAGE_APPENDED, TICKET_CREATED

EVENTS = frozenset({TICKET_CREATED, MESSAGE_APPENDED, ESCALATED})
PRIORITIES = {1: "low", 2: "normal", 3: "high", 4: "urgent"}
RETRYABLE = http.RETRYABLE_4XX | {409}
METADATA_KEY = "omniroute_delivery"
WHO = "Zendesk"


def external_id(ticket_number: int) -> str:
    """The ``external_id`` our ticket gets in Zendesk, and how we find it again."""
    return f"omniroute-{ticket_number}"


def send(context: DeskContext, destination: ZendeskDestination, handoff: Handoff) -> AttemptResult:
    """One attempt of ``handoff`` against the Zendesk instance at ``destination.url``."""
    token = read_secret(destination.token_env)
    if isinstance(token, AttemptResult):
        return token
    api = http.DeskApi(
        context.http,
        str(destination.url),
        httpx.BasicAuth(f"{destination.email}/token", token),
        timeout=destination.timeout_seconds,
        now=context.now(),
        who=WHO,
        retryable=RETRYABLE,
    )
    if handoff.event == TICKET_CREATED:
        return _create(api, destination, handoff)
    return _comment(api, handoff)


def _create(api: http.DeskApi, destination: ZendeskDestination, handoff: Handoff) -> AttemptResult:
    ours = external_id(handoff.ticket_number)
    if handoff.seen_before:
        found = api.call("GET", "/api/v2/tickets.json", params={"external_id": ours})
        if isinstance(found, AttemptResult):
            return found
        tickets = json_field(found.json(), "tickets")
        if isinstance(tickets, list) and tickets and json_id(tickets[0]) is not None:
            return api.delivered(str(json_id(tickets[0])))
    tokens = _upload(api, handoff)
    if isinstance(tokens, AttemptResult):
        return tokens
    requester: dict[str, str] = {"name": handoff.customer_name or handoff.customer_email or ""}
    if handoff.customer_email:
        requester["email"] = handoff.customer_email
    ticket: dict[str, Any] = {
        "subject": handoff.subject.strip() or "(no subject)",
        "comment": {"body": _body(handoff), "uploads": tokens},
        "requester": requester,
        "priority": PRIORITIES[PRIORITY_RANK.get(handoff.priority or "", 2)],
        "tags": _tags(destination, handoff),
        "external_id": ours,
    }
    group = destination.group_ids.get(handoff.team or "")
    if group is not None:
        ticket["group_id"] = group
    created = api.call(
        "POST",
        "/api/v2/tickets.json",
        json={"ticket": ticket},
        headers={"Idempotency-Key": handoff.idempotency_key},
    )
    if isinstance(created, AttemptResult):
        return created
    number = json_id(json_field(created.json(), "ticket"))
    if number is None:
        return api.malformed("a ticket id")
    return api.delivered(str(number))


def _comment(api: http.DeskApi, handoff: Handoff) -> AttemptResult:
    """A follow-up as the requester's public comment; an escalation as a private note."""
    ticket_id = parent_ticket_id(handoff, WHO)
    if isinstance(ticket_id, AttemptResult):
        return ticket_id
    path = f"/api/v2/tickets/{ticket_id}"
    if handoff.seen_before:
        audits = api.call("GET", f"{path}/audits.json")
        if isinstance(audits, AttemptResult):
            return audits
        for audit in json_field(audits.json(), "audits") or []:
            custom = json_field(json_field(audit, "metadata"), "custom")
            if json_field(custom, METADATA_KEY) == handoff.idempotency_key:
                return api.delivered(ticket_id)
    update: dict[str, Any]
    if handoff.event == ESCALATED:
        update = {
            "comment": {"body": handoff.body_text.strip() or "Escalated", "public": False},
            "priority": PRIORITIES[PRIORITY_RANK.get(handoff.priority or "", 2)],
        }
    else:
        current = api.call("GET", f"{path}.json")
        if isinstance(current, AttemptResult):
            return current
        requester_id = json_field(json_field(current.json(), "ticket"), "requester_id")
        tokens = _upload(api, handoff)
        if isinstance(tokens, AttemptResult):
            return tokens
        comment: dict[str, Any] = {"body": _body(handoff), "public": True, "uploads": tokens}
        if isinstance(requester_id, int):
            comment["author_id"] = requester_id
        update = {"comment": comment}
    updated = api.call(
        "PUT",
        f"{path}.json",
        json={
            "ticket": update,
            "metadata": {"custom": {METADATA_KEY: handoff.idempotency_key}},
        },
    )
    if isinstance(updated, AttemptResult):
        return updated
    return api.delivered(ticket_id)


def _upload(api: http.DeskApi, handoff: Handoff) -> list[str] | AttemptResult:
    tokens: list[str] = []
    for attachment in handoff.sendable_attachments:
        answer = api.call(
            "POST",
            "/api/v2/uploads.json",
            params={"filename": attachment.filename},
            content=attachment.read(),
            headers={"Content-Type": attachment.content_type or "application/octet-stream"},
        )
        if isinstance(answer, AttemptResult):
            return answer
        token = json_field(json_field(answer.json(), "upload"), "token")
        if not isinstance(token, str) or not token:
            return api.malformed(f"an upload token for {attachment.filename!r}")
        tokens.append(token)
    return tokens


def _body(handoff: Handoff) -> str:
    lines = []
    if handoff.message_from_someone_else:
        lines += [f"From: {handoff.message_from}", ""]
    lines.append(handoff.body_text.strip() or "(no text)")
    lines += handoff.unforwarded_notes()
    return "\n".join(lines)


def _tags(destination: ZendeskDestination, handoff: Handoff) -> list[str]:
    """Zendesk tags are single lower-case words; ours become so, in order, once each."""
    tags: list[str] = []
    for tag in (*destination.tags, *handoff.tags):
        word = "_".join(str(tag).lower().split())
        if word and word not in tags:
            tags.append(word)
    return tags
