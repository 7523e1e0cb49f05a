"""The OpenAPI 3.1 description of the HTTP app, served at ``GET /openapi.json``.

Written out rather than generated: the app is a handful of Starlette routes, and a
test checks that every route is described here and nothing else is. Request bodies
come from the pydantic models that validate them, so the two cannot drift apart.
Each operation names the bearer-token scope it needs (``security``), or none.
"""

from __future__ import annotations

from typing import Any

from channels.webforms.openapi import form_paths, form_schemas
from config.statuses import STATUSES
from ingest.agent_reply import ReplyRequest
from ingest.tokens import METRICS, READ, REPLY

VERSION = "0.1.0"
_JSON = "application/json"


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_ERROR = _json("An error, said in one sentence", _ref("Error"))
_OPEN: list[dict[str, list[str]]] = []
_AUTH_ERRORS = {
    "401": {
        **_json("No token, or one unknown or revoked", _ref("Error")),
        "headers": {
            "WWW-Authenticate": {
                "description": "The bearer challenge (RFC 6750)",
                "schema": {"type": "string"},
            }
        },
    },
    "403": _json("The token lacks the scope this operation needs", _ref("Error")),
}
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


def _bearer(scope: str) -> list[dict[str, list[str]]]:
    return [{"bearer": [scope]}]


def openapi_document(*, metrics_require_token: bool = False) -> dict[str, Any]:
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
            "/healthz": {
                "get": _op("The process is alive", _json("Alive", {"type": "object"}), _OPEN)
            },
            "/readyz": {
                "get": _op(
                    "The store and the broker are reachable",
                    _json("Ready", _ref("Readiness")),
                    _OPEN,
                    {"503": _json("Not ready: the check that failed says why", _ref("Readiness"))},
                )
            },
            "/metrics": {
                "get": _op(
                    "Prometheus metrics",
                    {"description": "Text exposition format", "content": {"text/plain": {}}},
                    _bearer(METRICS) if metrics_require_token else _OPEN,
                    _AUTH_ERRORS if metrics_require_token else None,
                )
            },
            "/api/tickets": {
                "get": {
                    **_op(
                        "The most recent tickets",
                        _json("Tickets, newest first", {"type": "array", "items": _ref("Ticket")}),
                        _bearer(READ),
                        _AUTH_ERRORS,
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
                        _bearer(READ),
                        {"400": _ERROR, **_AUTH_ERRORS, "404": _ERROR},
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
                        _bearer(REPLY),
                        {
                            "400": _ERROR,
                            **_AUTH_ERRORS,
                            "403": _json(
                                "The token lacks the scope, or may not sign as this author",
                                _ref("Error"),
                            ),
                            "404": _ERROR,
                            "413": _ERROR,
                            "422": _json(
                                "The author is missing or unfit for a mail header, or the "
                                "customer cannot be answered on the named channel",
                                _ref("Error"),
                            ),
                            "503": _ERROR,
                        },
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
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from `omniroute tokens create`, sent as "
                    "`Authorization: Bearer omr_…`. Scopes: tickets:read, tickets:reply, "
                    "metrics, and admin (every scope).",
                }
            },
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
            },
        },
    }


def _op(
    summary: str,
    ok: dict[str, Any],
    security: list[dict[str, list[str]]],
    errors: dict[str, Any] | None = None,
    status: str = "200",
) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": security,
        "responses": {status: ok, **(errors or {})},
    }


def _query(name: str, description: str, default: int) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "integer", "default": default},
    }
