"""The OpenAPI 3.1 description of the HTTP app, served at ``GET /openapi.json``.

Written out rather than generated: the app is a handful of Starlette routes, and a
test checks that every route is described here and nothing else is. Request bodies
come from the pydantic models that validate them, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from channels.webforms.openapi import form_paths, form_schemas
from config.statuses import STATUSES
from ingest.agent_reply import ReplyRequest

VERSION = "0.1.0"
_JSON = "application/json"


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_ERROR = _json("An error, said in one sentence", _ref("Error"))
_NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "description": "The ticket number",
    "schema": {"type": "integer", "minimum": 1},
}
_TICKET_PROPERTIES: dict[str, Any] = {
    "number": {"type": "integer"},
    "status": {"enum": list(STATUSES)},
    "channel": {"type": "string"},
    "customer": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "email": {"type": ["string", "null"]}},
    },
    "subject": {"type": "string"},
    "category": {"type": ["string", "null"]},
    "priority": {"enum": ["low", "medium", "high", "critical", None]},
    "team": {"type": ["string", "null"]},
    "assignee": {"type": ["string", "null"]},
    "tags": {"type": "array", "items": {"type": "string"}},
    "language": {"type": ["string", "null"]},
    "tier": {"type": ["string", "null"]},
    "created_at": {"type": "string", "format": "date-time"},
    "decision": {
        "type": ["object", "null"],
        "description": "Category, priority, team, "
        "destinations and every rule considered, with its reason",
    },
    "deliveries": {"type": "array", "items": {"type": "object"}},
    "sla": {"type": "object", "description": "Due dates and when they were met"},
}


def openapi_document() -> dict[str, Any]:
    """The whole description, as a JSON-safe dict."""
    reply_schema = ReplyRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "omniroute",
            "version": VERSION,
            "description": "Support tickets from every channel, triaged and handed to the "
            "help desks where agents work.",
        },
        "paths": {
            "/healthz": {"get": _op("The process is alive", _json("Alive", {"type": "object"}))},
            "/readyz": {
                "get": _op(
                    "The store and the broker are reachable",
                    _json("Ready", _ref("Readiness")),
                    {"503": _json("Not ready: the check that failed says why", _ref("Readiness"))},
                )
            },
            "/metrics": {
                "get": _op(
                    "Prometheus metrics",
                    {"description": "Text exposition format", "content": {"text/plain": {}}},
                )
            },
            "/api/tickets": {
                "get": {
                    **_op(
                        "The most recent tickets",
                        _json("Tickets, newest first", {"type": "array", "items": _ref("Ticket")}),
                    ),
                    "parameters": [
                        _query("limit", "At most this many (1-500)", 50),
                        _query("offset", "Skip this many", 0),
                    ],
                }
            },
            "/api/tickets/{number}": {
                "get": {
                    **_op(
                        "One ticket with its messages, decision and deliveries",
                        _json("The ticket", _ref("TicketDetail")),
                        {"400": _ERROR, "404": _ERROR},
                    ),
                    "parameters": [_NUMBER],
                }
            },
            "/api/tickets/{number}/replies": {
                "post": {
                    **_op(
                        "An agent's reply: stored, sent to the customer on their channel, "
                        "and the SLA first-response clock stopped",
                        _json("The stored reply", {"type": "object"}),
                        {"400": _ERROR, "404": _ERROR, "413": _ERROR, "503": _ERROR},
                        status="201",
                    ),
                    "parameters": [_NUMBER],
                    "requestBody": {
                        "required": True,
                        "content": {_JSON: {"schema": _ref("ReplyRequest")}},
                    },
                }
            },
            **form_paths(),
        },
        "components": {
            "schemas": {
                **form_schemas(),
                "ReplyRequest": reply_schema,
                "Ticket": {"type": "object", "properties": _TICKET_PROPERTIES},
                "TicketDetail": {
                    "allOf": [
                        _ref("Ticket"),
                        {
                            "type": "object",
                            "properties": {"messages": {"type": "array", "items": {}}},
                        },
                    ]
                },
                "Readiness": {
                    "type": "object",
                    "properties": {
                        "status": {"enum": ["ready", "unavailable"]},
                        "checks": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                },
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}},
                    "required": ["error"],
                },
            }
        },
    }


def _op(
    summary: str,
    ok: dict[str, Any],
    errors: dict[str, Any] | None = None,
    status: str = "200",
) -> dict[str, Any]:
    return {"summary": summary, "responses": {status: ok, **(errors or {})}}


def _query(name: str, description: str, default: int) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "integer", "default": default},
    }
