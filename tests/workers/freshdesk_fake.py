"""A fake Freshdesk: the parts of API v2 the client uses.

Speaks https://developers.freshdesk.com/api/ : API-key basic auth (``key:X``),
``POST /api/v2/tickets`` (JSON or multipart with ``attachments[]``),
``GET /api/v2/search/tickets?query="tag:'...'"``, ``PUT /api/v2/tickets/{id}``,
``POST /api/v2/tickets/{id}/reply``
and ``/notes``, ``GET /api/v2/tickets/{id}/conversations``.
"""

from __future__ import annotations

import base64
import html
import re
from email import message_from_bytes
from email.policy import HTTP
from typing import Any

from tests.workers.fake_desk import FakeDesk, Reply, Request, json_reply

_CONVERSATION = re.compile(r"^/api/v2/tickets/(\d+)/(reply|notes|conversations)$")
_TICKET = re.compile(r"^/api/v2/tickets/(\d+)$")
_TAG_QUERY = re.compile(r"^\"tag:'([^']+)'\"$")


def form(request: Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A multipart/form-data body as fields (``x[]`` gathered into lists) and files."""
    raw = b"Content-Type: " + (request.header("Content-Type") or "").encode() + b"\r\n\r\n"
    message = message_from_bytes(raw + request.body, policy=HTTP)
    fields: dict[str, Any] = {}
    files: list[dict[str, Any]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        if filename is not None:
            files.append(
                {
                    "field": name,
                    "name": filename,
                    "content_type": part.get_content_type(),
                    "content": payload,
                }
            )
        elif isinstance(name, str) and name.endswith("[]"):
            fields.setdefault(name[:-2], []).append(payload.decode())
        elif isinstance(name, str):
            fields[name] = payload.decode()
    return fields, files


class FreshdeskFake(FakeDesk):
    def __init__(self, api_key: str = "fd-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.tickets: dict[int, dict[str, Any]] = {}
        self.conversations: dict[int, list[dict[str, Any]]] = {}
        self._ids = iter(range(501, 10**6))

    def authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.api_key}:X".encode()).decode()
        return request.header("Authorization") == f"Basic {expected}"

    def unauthorized(self, request: Request) -> Reply:
        return json_reply(
            401, {"code": "invalid_credentials", "message": "You have to be logged in"}
        )

    def route(self, request: Request) -> Reply:
        method, path = request.method, request.path
        if (method, path) == ("POST", "/api/v2/tickets"):
            return self._create(*self._fields(request))
        if (method, path) == ("GET", "/api/v2/search/tickets"):
            match = _TAG_QUERY.match(request.param("query") or "")
            if match is None:
                return json_reply(400, {"description": "Validation failed", "errors": ["query"]})
            found = [t for t in self.tickets.values() if match.group(1) in t["tags"]]
            return json_reply(200, {"results": found, "total": len(found)})
        ticket = _TICKET.match(path)
        if ticket is not None and method == "PUT":
            updated = self.tickets.get(int(ticket.group(1)))
            if updated is None:
                return json_reply(404, {"code": "not_found"})
            changes = request.json()
            if int(changes.get("priority", updated["priority"])) not in range(1, 5):
                return json_reply(400, {"description": "Validation failed", "errors": ["priority"]})
            updated.update(changes)
            return json_reply(200, updated)
        conversation = _CONVERSATION.match(path)
        if conversation is not None:
            number, kind = int(conversation.group(1)), conversation.group(2)
            if number not in self.tickets:
                return json_reply(404, {"code": "not_found"})
            if kind == "conversations" and method == "GET":
                return json_reply(200, self.conversations[number])
            if method == "POST" and kind in {"reply", "notes"}:
                return self._converse(number, kind, *self._fields(request))
        return json_reply(404, {"code": "not_found"})

    def _fields(self, request: Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        if (request.header("Content-Type") or "").startswith("multipart/form-data"):
            return form(request)
        return request.json(), []

    def _create(self, fields: dict[str, Any], files: list[dict[str, Any]]) -> Reply:
        priority, status = int(fields.get("priority", 1)), int(fields.get("status", 2))
        missing = [k for k in ("email", "subject", "description") if not fields.get(k)]
        if missing or priority not in range(1, 5) or status not in range(2, 6):
            return json_reply(400, {"description": "Validation failed", "errors": missing})
        number = next(self._ids)
        group = fields.get("group_id")
        self.tickets[number] = {
            "id": number,
            "email": fields["email"],
            "name": fields.get("name"),
            "subject": fields["subject"],
            "description": fields["description"],
            "priority": priority,
            "status": status,
            "group_id": None if group is None else int(group),
            "tags": list(fields.get("tags", [])),
            "attachments": files,
        }
        self.conversations[number] = []
        return json_reply(201, self.tickets[number])

    def _converse(
        self, number: int, kind: str, fields: dict[str, Any], files: list[dict[str, Any]]
    ) -> Reply:
        body = fields.get("body")
        if not body:
            return json_reply(400, {"description": "Validation failed", "errors": ["body"]})
        text = html.unescape(re.sub(r"<br>|</p>", "\n", body))
        entry = {
            "id": next(self._ids),
            "kind": kind,
            "body": body,
            "body_text": re.sub(r"<[^>]+>", "", text).strip(),
            "private": _flag(fields.get("private", kind == "notes")),
            "incoming": _flag(fields.get("incoming", False)),
            "attachments": files,
        }
        self.conversations[number].append(entry)
        return json_reply(201, entry)


def _flag(value: Any) -> bool:
    return value is True or value == "true"
