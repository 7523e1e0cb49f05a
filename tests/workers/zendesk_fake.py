"""A fake Zendesk: the parts of the Tickets, Uploads and Audits APIs the client uses.

Speaks https://developer.zendesk.com/api-reference/ticketing/ : API-token basic auth
(``{email}/token:{token}``), ``POST /api/v2/uploads.json?filename=``,
``POST /api/v2/tickets.json``, ``GET /api/v2/tickets.json?external_id=``,
``GET|PUT /api/v2/tickets/{id}.json``, ``GET /api/v2/tickets/{id}/audits.json``.
Tickets live in memory; ``tickets`` and ``uploads`` are there to assert on.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from tests.workers.fake_desk import FakeDesk, Reply, Request, json_reply

_TICKET = re.compile(r"^/api/v2/tickets/(\d+)(\.json|/audits\.json)$")
PRIORITIES = {"low", "normal", "high", "urgent"}


class ZendeskFake(FakeDesk):
    def __init__(self, email: str = "agent@acme.test", token: str = "zd-token") -> None:
        super().__init__()
        self.email, self.token = email, token
        self.tickets: dict[int, dict[str, Any]] = {}
        self.audits: dict[int, list[dict[str, Any]]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self.users: dict[str, int] = {}
        self._ids = iter(range(1001, 10**6))

    def authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.email}/token:{self.token}".encode()).decode()
        return request.header("Authorization") == f"Basic {expected}"

    def route(self, request: Request) -> Reply:
        method, path = request.method, request.path
        if (method, path) == ("POST", "/api/v2/uploads.json"):
            return self._upload(request)
        if path == "/api/v2/tickets.json":
            if method == "POST":
                return self._create(request.json())
            if method == "GET":
                wanted = request.param("external_id")
                found = [t for t in self.tickets.values() if t["external_id"] == wanted]
                return json_reply(200, {"tickets": found, "count": len(found)})
        match = _TICKET.match(path)
        if match is not None:
            ticket = self.tickets.get(int(match.group(1)))
            if ticket is None:
                return json_reply(404, {"error": "RecordNotFound"})
            if match.group(2) == "/audits.json" and method == "GET":
                return json_reply(200, {"audits": self.audits[ticket["id"]]})
            if method == "GET":
                return json_reply(200, {"ticket": ticket})
            if method == "PUT":
                return self._update(ticket, request.json())
        return json_reply(404, {"error": "InvalidEndpoint"})

    def comments(self, ticket_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.tickets[ticket_id]["comments"])

    def _upload(self, request: Request) -> Reply:
        token = f"upload-{next(self._ids)}"
        self.uploads[token] = {
            "file_name": request.param("filename"),
            "content_type": request.header("Content-Type"),
            "content": request.body,
        }
        return json_reply(201, {"upload": {"token": token}})

    def _comment(self, comment: dict[str, Any], author_id: int) -> dict[str, Any] | None:
        body = comment.get("body")
        tokens = comment.get("uploads") or []
        if not isinstance(body, str) or not body or any(t not in self.uploads for t in tokens):
            return None
        return {
            "id": next(self._ids),
            "body": body,
            "public": comment.get("public", True),
            "author_id": comment.get("author_id", author_id),
            "attachments": [self.uploads[t] for t in tokens],
        }

    def _create(self, document: dict[str, Any]) -> Reply:
        ticket = document.get("ticket") or {}
        requester = ticket.get("requester") or {}
        email = requester.get("email")
        if not ticket.get("subject") or ticket.get("priority") not in PRIORITIES or not email:
            return json_reply(422, {"error": "RecordInvalid", "details": ticket})
        requester_id = self.users.setdefault(email, next(self._ids))
        comment = self._comment(ticket.get("comment") or {}, requester_id)
        if comment is None:
            return json_reply(422, {"error": "RecordInvalid", "description": "comment"})
        number = next(self._ids)
        created = {
            "id": number,
            "subject": ticket["subject"],
            "requester_id": requester_id,
            "requester": requester,
            "priority": ticket["priority"],
            "group_id": ticket.get("group_id"),
            "tags": ticket.get("tags", []),
            "external_id": ticket.get("external_id"),
            "status": "new",
            "comments": [comment],
        }
        self.tickets[number] = created
        self.audits[number] = [{"id": next(self._ids), "metadata": {"custom": {}}}]
        return json_reply(201, {"ticket": created})

    def _update(self, ticket: dict[str, Any], document: dict[str, Any]) -> Reply:
        changes = document.get("ticket") or {}
        comment = self._comment(changes.get("comment") or {}, 0)
        if comment is None or changes.get("priority", "normal") not in PRIORITIES:
            return json_reply(422, {"error": "RecordInvalid", "details": changes})
        if "priority" in changes:
            ticket["priority"] = changes["priority"]
        ticket["comments"].append(comment)
        audit = {
            "id": next(self._ids),
            "metadata": {"custom": (document.get("metadata") or {}).get("custom", {})},
            "events": [{"id": comment["id"], "type": "Comment"}],
        }
        self.audits[ticket["id"]].append(audit)
        return json_reply(200, {"ticket": ticket, "audit": audit})
