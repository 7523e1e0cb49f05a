"""``POST /slack/events``: Slack's HTTP mode, through bolt's Starlette adapter.

Bolt's dispatch is synchronous (signature check, then the store commit), so it runs
in a thread pool of its own and never blocks the event loop; the pool is wide enough
that requests arriving together wait on one group commit rather than queue for a
thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.batch_writer import BatchWriter
from channels.edge_metrics import refused
from channels.slack_events import build_bolt_app
from config.settings import Settings
from ingest.raw_inputs import RawSpill
from normalize.slack import CHANNEL

PATH = "/slack/events"
# Threads mostly wait for the writer's commit; they cost little and batch more.
DISPATCH_THREADS = 32
# Slack's (and bolt's) bound on a signed request's age: an older one may be a replay.
MAX_SIGNATURE_AGE_SECONDS = 60 * 5


def slack_events_route(app: App) -> Route:
    """The route serving ``app`` at ``/slack/events``."""

    pool = ThreadPoolExecutor(max_workers=DISPATCH_THREADS, thread_name_prefix="slack-events")

    async def events(request: Request) -> Response:
        body = await request.body()
        bolt_request = to_bolt_request(request, body)
        loop = asyncio.get_running_loop()
        bolt_response = await loop.run_in_executor(pool, app.dispatch, bolt_request)
        if bolt_response.status == 401:  # bolt's request verification refused it
            refused(CHANNEL, unverified_reason(request.headers, time.time()))
        return to_starlette_response(bolt_response)

    endpoint: Callable[[Request], Awaitable[Response]] = events
    return Route(PATH, endpoint, methods=["POST"])


def unverified_reason(headers: Mapping[str, str], now: float) -> str:
    """Why bolt refused a request's signature: missing, too old (a replay) or wrong."""
    signature = headers.get("x-slack-signature")
    timestamp = headers.get("x-slack-request-timestamp")
    if not signature or not timestamp:
        return "missing signature"
    try:
        age = abs(now - int(timestamp))
    except ValueError:
        return "bad timestamp"
    return "stale timestamp" if age > MAX_SIGNATURE_AGE_SECONDS else "bad signature"


def slack_routes(
    settings: Settings,
    sessions: sessionmaker[Session],
    on_accepted: Callable[[], None] | None = None,
) -> list[Route]:
    """``/slack/events`` when a bot token and a signing secret are set, else nothing.

    Events posted at once commit together (one writer thread, as the SMTP edge does);
    each answer still follows its own event's commit."""
    if settings.slack_bot_token is None or settings.slack_signing_secret is None:
        return []
    writer = BatchWriter(sessions, spill=RawSpill.for_settings(settings))
    app = build_bolt_app(settings, sessions, on_accepted=on_accepted, accept=writer.accept_blocking)
    return [slack_events_route(app)]
