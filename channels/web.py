"""The ASGI app: health, readiness, metrics, the ticket API, agents' replies, web forms
and the ops console.

Every ``/api/`` route needs a bearer token with its scope (:mod:`channels.auth`):
``tickets:read`` to read tickets, ``tickets:reply`` to answer customers.
``/healthz``, ``/readyz`` and ``/openapi.json`` stay open; ``/metrics`` asks for a
token with the ``metrics`` scope when ``metrics_require_token`` is set. The web
forms (``/forms/{form}``, ``/t/{token}``) verify their own posts (:mod:`channels.webforms`).
The ops console under ``/console`` signs in with a token that has the ``admin`` scope.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from channels.access_log import AccessLog
from channels.auth import TokenGate
from channels.console import ConsoleConfig
from channels.edge_metrics import EDGE_INTERNAL_ERRORS, EDGE_REFUSED
from channels.metrics import StoreCollector
from channels.openapi import openapi_document
from channels.ops_metrics import OperationsCollector, QueueDepth
from channels.twilio_webhooks import openapi_paths as twilio_openapi_paths
from channels.twilio_webhooks import twilio_routes
from channels.web_replies import reply_endpoint
from channels.webforms.metrics import FormRefusalCollector
from channels.webforms.routes import form_routes
from config.form_settings import FormSettings
from config.settings import Settings, load_settings
from ingest.db import read_only
from ingest.due_work import due_work
from ingest.health_report import role_report
from ingest.tokens import METRICS, READ, REPLY
from ingest.views import list_tickets, show_ticket


def create_app(
    sessions: sessionmaker[Session],
    broker_ping: Callable[[], None] | None = None,
    on_work: Callable[[], None] | None = None,
    *,
    metrics_require_token: bool = False,
    settings: Settings | None = None,
    form_limits: FormSettings | None = None,
    queue_depth: QueueDepth | None = None,
    console: ConsoleConfig | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The app; ``on_work`` is called when a request committed outbox work (a reply).

    ``settings`` (read from the environment when not given) and ``form_limits``
    configure the web forms; with ``settings`` naming Twilio accounts, Twilio's
    webhooks are served too. ``extra_routes`` are channel edges with their own
    verification (``/slack/events``). ``queue_depth`` reads the broker's queues for
    ``/metrics``; ``console`` serves the ops console under ``/console`` (left out,
    the console is not served).
    """
    gate = TokenGate(sessions)
    registry = CollectorRegistry()
    registry.register(StoreCollector(sessions))
    registry.register(FormRefusalCollector(sessions))
    registry.register(OperationsCollector(sessions, queue_depth))
    for counter in (EDGE_INTERNAL_ERRORS, EDGE_REFUSED):
        registry.register(counter)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks: dict[str, str] = {}
        checks["store"] = await asyncio.to_thread(_check, lambda: _ping_store(sessions))
        if broker_ping is not None:
            checks["broker"] = await asyncio.to_thread(_check, broker_ping)
        ready = all(v == "ok" for v in checks.values())
        body: dict[str, Any] = {"status": "ready" if ready else "unavailable", "checks": checks}
        if checks["store"] == "ok":
            # What is due and how long the oldest has waited: a stall shows here.
            body["due_work"] = await asyncio.to_thread(_due_work, sessions)
            # Informative: a stale worker does not make this process unready, but an
            # operator (or `omniroute status`) sees each role's heartbeat here.
            body["roles"] = await asyncio.to_thread(_roles, sessions)
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        body = await asyncio.to_thread(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def tickets(request: Request) -> Response:
        limit = _int_param(request, "limit", 50, 1, 500)
        offset = _int_param(request, "offset", 0, 0, 10**9)

        def load() -> list[dict[str, Any]]:
            with read_only(sessions) as session:
                return list_tickets(session, limit=limit, offset=offset)

        return JSONResponse(await asyncio.to_thread(load))

    async def ticket(request: Request) -> Response:
        try:
            number = int(request.path_params["number"])
        except ValueError:
            return JSONResponse({"error": "ticket number must be an integer"}, status_code=400)

        def load() -> dict[str, Any] | None:
            with read_only(sessions) as session:
                return show_ticket(session, number) if 0 < number < 2**63 else None  # BIGINT

        found = await asyncio.to_thread(load)
        if found is None:
            return JSONResponse({"error": f"no ticket #{number}"}, status_code=404)
        return JSONResponse(found)

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    document = openapi_document(metrics_require_token=metrics_require_token)
    channel_routes: list[BaseRoute] = []
    if settings is not None and settings.twilio:
        channel_routes += twilio_routes(settings, sessions, registry, on_work)
        document["paths"].update(twilio_openapi_paths())
    routes: list[BaseRoute] = [
        *channel_routes,
        Route("/openapi.json", openapi),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", gate.protect(METRICS, metrics) if metrics_require_token else metrics),
        Route("/api/tickets", gate.protect(READ, tickets)),
        Route("/api/tickets/{number}", gate.protect(READ, ticket)),
        Route(
            "/api/tickets/{number}/replies",
            gate.protect(REPLY, reply_endpoint(sessions, on_work)),
            methods=["POST"],
        ),
        *form_routes(sessions, settings or load_settings(), on_work, form_limits),
        *extra_routes,
    ]
    if console is not None:
        from channels.console.pages import console_routes

        routes.extend(console_routes(sessions, console))
    return Starlette(routes=routes, middleware=[Middleware(AccessLog)])


def _roles(sessions: sessionmaker[Session]) -> dict[str, Any]:
    with read_only(sessions) as session:
        return role_report(session)


def _ping_store(sessions: sessionmaker[Session]) -> None:
    with read_only(sessions) as session:
        session.execute(text("SELECT 1"))


def _due_work(sessions: sessionmaker[Session]) -> dict[str, dict[str, float | int]]:
    with read_only(sessions) as session:
        return {due.kind: due.as_dict() for due in due_work(session)}


def _check(probe: Callable[[], None]) -> str:
    try:
        probe()
    except Exception as exc:
        return f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return "ok"


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(request.query_params.get(name, default))
    except ValueError:
        return default
    return max(low, min(high, value))
