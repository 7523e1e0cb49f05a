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
from tests.tokens import bearer, issue


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
    assert set(schema["required"]) == {"body"}
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("metrics_require_token", [False, True])
def test_every_operation_declares_the_security_the_app_enforces(
    sessions: sessionmaker[Session], metrics_require_token: bool
) -> None:
    # Given the app, and a token for each scope
    app = create_app(sessions, metrics_require_token=metrics_require_token)
    issued: list[str] = []
    with http_server(app) as url, httpx.Client(base_url=url) as client:
        document = client.get("/openapi.json").json()
        # Then the bearer scheme is declared
        assert document["components"]["securitySchemes"]["bearer"] == {
            **document["components"]["securitySchemes"]["bearer"],
            "type": "http",
            "scheme": "bearer",
        }
        for path, item in document["paths"].items():
            for method, operation in item.items():
                target = path.replace("{number}", "1")
                body = {"body": "Hi"} if method == "post" else None
                # And an operation declared open answers without a token
                anonymous = client.request(method, target, json=body)
                if operation["security"] == []:
                    assert anonymous.status_code != 401, (method, path)
                    continue
                # And one declaring a scope refuses a request without one
                (requirement,) = operation["security"]
                (scope,) = requirement["bearer"]
                assert anonymous.status_code == 401, (method, path)
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
                # And lets a token with exactly that scope through
                token = issue(sessions, f"only-{scope.replace(':', '-')}-{len(issued)}", [scope])
                issued.append(token)
                allowed = client.request(method, target, json=body, headers=bearer(token))
                assert allowed.status_code not in {401, 403}, (method, path, allowed.text)
    # And /metrics was checked with or without its token, as the setting says
    metrics = document["paths"]["/metrics"]["get"]["security"]
    assert metrics == ([{"bearer": ["metrics"]}] if metrics_require_token else [])
