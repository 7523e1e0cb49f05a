"""``GET /openapi.json`` describes the HTTP app: every route, and a valid OpenAPI 3.1 document."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from openapi_spec_validator import validate
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import Route

from channels.web import create_app
from tests.servers import http_server


@pytest.fixture
def served(sessions: sessionmaker[Session]) -> Iterator[tuple[httpx.Client, list[Route]]]:
    app = create_app(sessions)
    with http_server(app) as url, httpx.Client(base_url=url) as client:
        yield client, [r for r in app.routes if isinstance(r, Route)]


def test_openapi_document_is_valid_and_describes_every_route(
    served: tuple[httpx.Client, list[Route]],
) -> None:
    client, routes = served
    # When the description is fetched over HTTP
    response = client.get("/openapi.json")
    # Then it is a valid OpenAPI 3.1 document
    assert response.status_code == 200
    document = response.json()
    validate(document)
    # And it lists exactly the app's routes and methods
    described = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    served_routes = {
        (route.path, method)
        for route in routes
        if route.path != "/openapi.json"
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert described == served_routes


def test_reply_request_schema_is_the_validating_model(
    served: tuple[httpx.Client, list[Route]],
) -> None:
    client, _ = served
    # When the reply request schema is read
    schema = client.get("/openapi.json").json()["components"]["schemas"]["ReplyRequest"]
    # Then it requires what the endpoint requires and forbids unknown fields
    assert set(schema["required"]) == {"body", "author"}
    assert schema["additionalProperties"] is False
