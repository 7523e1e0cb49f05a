"""The web forms' part of the OpenAPI description: ``/forms/{form}`` and ``/t/{token}``."""

from __future__ import annotations

from typing import Any

_HTML: dict[str, Any] = {"text/html": {}}
# No bearer token: the forms verify their own posts (signed tokens, guards, limits).
OPEN: list[dict[str, list[str]]] = []
_ERROR = {"$ref": "#/components/schemas/Error"}


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    content: dict[str, Any] = dict(_HTML)
    if schema is not None:
        content["application/json"] = {"schema": schema}
    return {"description": description, "content": content}


def _param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


_FORM = _param("form", "The form's name (`contact` unless others are declared)")
_TOKEN = _param("token", "A signed follow-up token, from the thank-you page or the mail")
_SUBMISSION_BODY = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/FormPost"}},
        "multipart/form-data": {"schema": {"$ref": "#/components/schemas/FormPost"}},
        "application/json": {"schema": {"$ref": "#/components/schemas/FormPost"}},
    },
}


def form_paths() -> dict[str, Any]:
    created = {"$ref": "#/components/schemas/FormSubmitted"}
    errors = {
        code: _answer(why, _ERROR)
        for code, why in (
            ("400", "Unreadable, or caught as a bot's (honeypot, token, time trap); kept"),
            ("403", "Posted from a site the form does not allow"),
            ("404", "No such form"),
            ("413", "The body is over the limit"),
            ("422", "Every field's problem (`errors`), or the form again with them"),
            ("429", "Rate limited; see Retry-After"),
            ("503", "The store is unavailable; nothing was saved; see Retry-After"),
        )
    }
    return {
        "/forms/{form}": {
            "get": {
                "summary": "The hosted form: accessible HTML with a signed form token",
                "security": OPEN,
                "parameters": [_FORM],
                "responses": {"200": _answer("The form page"), "404": _answer("No such form")},
            },
            "post": {
                "summary": "Submit the form: stored, then made a ticket at once",
                "security": OPEN,
                "parameters": [_FORM],
                "requestBody": _SUBMISSION_BODY,
                "responses": {
                    "200": _answer("The thank-you page with the ticket number"),
                    "201": _answer("The ticket (with Accept: application/json)", created),
                    "202": _answer("Stored; the ticket number follows by mail", _ERROR),
                    "303": {"description": "To the form's thank-you URL, with ?ticket=N"},
                    **errors,
                },
            },
        },
        "/t/{token}": {
            "get": {
                "summary": "The customer's follow-up page for one ticket",
                "security": OPEN,
                "parameters": [_TOKEN],
                "responses": {
                    "200": _answer("The conversation and a reply form"),
                    "404": _answer("Not a link we signed"),
                    "410": _answer("Expired or withdrawn"),
                },
            },
            "post": {
                "summary": "Add to the ticket from its follow-up page",
                "security": OPEN,
                "parameters": [_TOKEN],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {"message": {"type": "string"}},
                                "required": ["message"],
                            }
                        }
                    },
                },
                "responses": {
                    "201": _answer("Added (with Accept: application/json)", {"type": "object"}),
                    "303": {"description": "Back to the page, which shows the message"},
                    "404": _answer("Not a link we signed"),
                    "410": _answer("Expired or withdrawn"),
                    "413": _answer("The message is too long", _ERROR),
                    "422": _answer("The message is empty or too long", _ERROR),
                    "503": _answer("The store is unavailable; see Retry-After", _ERROR),
                },
            },
        },
    }


def form_schemas() -> dict[str, Any]:
    return {
        "FormPost": {
            "type": "object",
            "description": "The form's fields (those of `contact` shown), plus the page's "
            "hidden inputs; files as multipart parts or, in JSON, base64 objects",
            "properties": {
                "form_token": {"type": "string"},
                "website": {"type": "string", "description": "The honeypot: leave empty"},
                "name": {"type": "string"},
                "email": {"type": "string", "format": "email"},
                "subject": {"type": "string"},
                "message": {"type": "string"},
                "attachments": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "filename": {"type": "string"},
                            "content_type": {"type": "string"},
                            "data": {"type": "string", "contentEncoding": "base64"},
                        },
                    },
                },
            },
            "required": ["form_token"],
        },
        "FormSubmitted": {
            "type": "object",
            "properties": {
                "ticket": {
                    "type": "object",
                    "properties": {"number": {"type": "integer"}, "status": {"type": "string"}},
                },
                "follow_up_url": {"type": "string", "format": "uri"},
            },
            "required": ["ticket", "follow_up_url"],
        },
    }
