"""Process roles: each Procfile role alone, and the parts ``omniroute run`` starts at once
(see ``workers.process.run``).

Each role imports only what it runs, inside the functions below: the ``smtp`` edge
never loads the worker, HTTP or classifier stacks, and ``web`` never the worker's.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from channels.listen import listening_socket
from config.errors import ConfigError
from config.settings import Settings
from workers.process.heap import freeze_startup_heap

if TYPE_CHECKING:
    from dramatiq.worker import Worker
    from sqlalchemy.orm import Session, sessionmaker
    from starlette.routing import Route
    from starlette.types import ASGIApp

    from workers.process.relay import RelayLoop
    from workers.process.runtime import Runtime

log = logging.getLogger(__name__)


class MissingBroker(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "OMNIROUTE_BROKER_URL is not set: role processes connect to a broker by URL; "
            "only `omniroute run` starts the embedded Redis"
        )


def check_deployment(settings: Settings, roles: str) -> None:
    """Say what this process is and where its data lives; refuse a split signing key.

    Raises ``ConfigError`` when the database is shared but no signing key is set
    (each process would otherwise invent its own).
    """
    from ingest.blobs import blob_store_for, host_local_warning

    settings.signing_key  # noqa: B018 - raises ConfigError when it would be host-local
    blobs = blob_store_for(settings)
    log.info(
        "omniroute %s starting: store %s, blobs %s, broker %s",
        roles,
        redact_url(settings.resolved_database_url),
        blobs.location,
        redact_url(settings.broker_url) if settings.broker_url else "embedded",
    )
    warning = host_local_warning(settings, blobs)
    if warning is not None:
        log.warning(warning)


@contextmanager
def heartbeat(settings: Settings, *roles: str) -> Iterator[None]:
    """Record the heartbeat of each of this process's ``roles`` while the block runs; say
    what each serves, once."""
    from ingest.db import create_store_engine, session_factory
    from ingest.health import HeartbeatThread

    serving = {role: serves(role, settings) for role in roles}
    engine = create_store_engine(settings.resolved_database_url, statement_timeout_ms=10_000)
    beats = HeartbeatThread(session_factory(engine), serving)
    beats.start()
    for role, what in serving.items():
        log.info("%s role serving %s", role, what)
    try:
        yield
    finally:
        beats.stop()
        engine.dispose()


def wait_for_shutdown() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


@contextmanager
def runtime_for(settings: Settings, broker_url: str | None) -> Iterator[Runtime]:
    from workers.process.runtime import build_runtime

    if broker_url is None:
        raise MissingBroker()
    runtime = build_runtime(settings, broker_url)
    try:
        yield runtime
    finally:
        runtime.close()


@contextmanager
def worker_pool(runtime: Runtime) -> Iterator[Worker]:
    from dramatiq.worker import Worker

    from workers.process.actors import register_actors
    from workers.triage.warm_up import warm_up_triage

    register_actors(runtime)
    worker = Worker(runtime.broker, worker_threads=runtime.settings.worker_threads)
    worker.start()
    warm_up_triage(runtime.rules_source, runtime.live_model)
    try:
        yield worker
    finally:
        worker.stop()


@contextmanager
def relay(runtime: Runtime) -> Iterator[RelayLoop]:
    from workers.process.relay import RelayLoop
    from workers.process.wake import wake_listener

    loop = RelayLoop(
        runtime.sessions,
        runtime.broker,
        runtime.settings.outbox_poll_seconds,
        runtime.outbox_signal,
        runtime.queue,
    )
    # Edges in other processes on this host (``run``'s children) wake it after a commit.
    with wake_listener(runtime.settings.resolved_database_url, loop.signal):
        loop.start()
        try:
            yield loop
        finally:
            loop.stop()


@contextmanager
def smtp_server(
    settings: Settings, on_accepted: Callable[[], None] | None = None
) -> Iterator[None]:
    from channels.smtp import IngestHandler, start_smtp_server
    from channels.smtp_limits import SmtpLimits
    from ingest.db import create_store_engine, session_factory
    from ingest.raw_inputs import RawSpill

    # The edge waits at most 10 s on the store, then answers 451 so the sender retries.
    engine = create_store_engine(settings.resolved_database_url, statement_timeout_ms=10_000)
    limits = SmtpLimits.from_settings(settings)
    handler = IngestHandler(
        session_factory(engine),
        settings.recipients,
        on_accepted,
        limits,
        spill=RawSpill.for_settings(settings),
    )
    try:
        controller = start_smtp_server(
            handler,
            host=settings.smtp_host,
            port=settings.smtp_port,
            hostname=settings.smtp_hostname,
        )
    except BaseException:
        handler.close()
        engine.dispose()
        raise
    log.info("smtp listening on %s:%s", settings.smtp_host, settings.smtp_port)
    try:
        yield
    finally:
        controller.stop()
        handler.close()
        engine.dispose()


@contextmanager
def imap_readers(
    settings: Settings, on_accepted: Callable[[], None] | None = None
) -> Iterator[None]:
    """One reader per configured mailbox; each reads only while it holds the mailbox's lease."""
    from channels.imap import start_readers
    from ingest.db import create_store_engine, session_factory
    from ingest.raw_inputs import RawSpill

    engine = create_store_engine(settings.resolved_database_url, statement_timeout_ms=10_000)
    readers = start_readers(
        settings.imap_mailboxes,
        session_factory(engine),
        lease_seconds=settings.imap_lease_seconds,
        on_accepted=on_accepted,
        spill=RawSpill.for_settings(settings),
    )
    log.info("imap reading %s", ", ".join(m.name for m in settings.imap_mailboxes))
    try:
        yield
    finally:
        for reader in readers:
            reader.stop()
        engine.dispose()


@contextmanager
def slack_socket_mode(
    settings: Settings, on_accepted: Callable[[], None] | None = None
) -> Iterator[None]:
    """Slack's Socket Mode: events arrive over a WebSocket this process opens."""
    from channels.slack_socket import socket_mode_handler
    from ingest.db import create_store_engine, session_factory

    engine = create_store_engine(settings.resolved_database_url, statement_timeout_ms=10_000)
    handler = socket_mode_handler(settings, session_factory(engine), on_accepted=on_accepted)
    handler.connect()
    log.info("slack socket mode connected")
    try:
        yield
    finally:
        handler.close()
        engine.dispose()


def http_app(runtime: Runtime) -> ASGIApp:
    """The HTTP app (API, console, metrics, webhooks) on this process's store and broker."""
    from channels.web import create_app
    from workers.process.broker import ping, queue_depth
    from workers.process.console_actions import console_actions

    broker = runtime.broker
    wake = runtime.outbox_signal.set
    # A reply stored here wakes this process's relay (``omniroute run``) at once.
    settings = runtime.settings
    return create_app(
        runtime.sessions,
        broker_ping=lambda: ping(broker, runtime.queue),
        on_work=wake,
        metrics_require_token=settings.metrics_require_token,
        settings=settings,
        queue_depth=lambda: queue_depth(broker),
        console=console_actions(runtime.sessions, settings),
        extra_routes=_slack_routes(settings, runtime.sessions, on_accepted=wake),
    )


def _slack_routes(
    settings: Settings, sessions: sessionmaker[Session], on_accepted: Callable[[], None]
) -> list[Route]:
    """``/slack/events`` when Slack is set up; otherwise the Slack stack is not loaded."""
    if settings.slack_bot_token is None or settings.slack_signing_secret is None:
        return []
    from channels.slack_http import slack_routes

    return slack_routes(settings, sessions, on_accepted=on_accepted)


def http_listener(settings: Settings) -> socket.socket:
    """The HTTP server's socket, bound and listening (``CannotListen`` if it cannot be)."""
    return listening_socket(
        "HTTP server",
        settings.http_host,
        settings.http_port,
        settings="OMNIROUTE_HTTP_HOST, OMNIROUTE_HTTP_PORT",
        backlog=2048,
    )


def serve_http(runtime: Runtime, listener: socket.socket | None = None) -> None:
    """Serve the ASGI app in this thread until SIGINT/SIGTERM, on ``listener`` when the
    caller bound it already."""
    import uvicorn

    app = http_app(runtime)
    settings = runtime.settings
    # log_config=None: uvicorn's records go through this process's logging set-up
    # (text or JSON); the app writes its own access line (channels/access_log.py).
    # ws="none": the app has no WebSocket route, so no WebSocket library is loaded.
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="off",
        ws="none",
    )
    if listener is None:
        listener = http_listener(settings)
    freeze_startup_heap()
    uvicorn.Server(config).run(sockets=[listener])


def serves(role: str, settings: Settings) -> str:
    """What a role's process serves, for its start-up line and its heartbeat."""
    if role == "web":
        return f"http://{settings.http_host}:{settings.http_port} (API, /console, /metrics)"
    if role == "smtp":
        return (
            f"smtp {settings.smtp_host}:{settings.smtp_port} for {', '.join(settings.recipients)}"
        )
    if role == "imap":
        return "imap mailboxes " + ", ".join(m.name for m in settings.imap_mailboxes)
    if role == "slack":
        return "slack events over Socket Mode"
    if role == "worker":
        return f"{settings.worker_threads} worker threads and an outbox relay"
    if role == "scheduler":
        return (
            f"outbox relay, redelivery of due work, SLA sweep every "
            f"{settings.sla_sweep_seconds:g} s and hourly housekeeping"
        )
    raise ValueError(f"unknown role {role!r}")


def run_role(role: str, settings: Settings) -> None:
    if role not in {"web", "smtp", "imap", "slack", "worker", "scheduler"}:
        raise ValueError(f"unknown role {role!r}")
    if role == "imap" and not settings.imap_mailboxes:
        raise ConfigError("no mailboxes configured: set OMNIROUTE_IMAP_MAILBOXES")
    from ingest.schema import check_store_schema

    check_deployment(settings, role)
    check_store_schema(settings.resolved_database_url)
    with heartbeat(settings, role):
        _serve_role(role, settings)


def _wake_relay(settings: Settings) -> Callable[[], None]:
    from workers.process.wake import WakeSender

    return WakeSender(settings.resolved_database_url)


def _serve_role(role: str, settings: Settings) -> None:
    if role == "web":
        with runtime_for(settings, settings.broker_url) as runtime:
            serve_http(runtime)
    elif role == "smtp":
        # The SMTP edge only writes to the store; the relay moves its work to the broker,
        # woken after each commit when it runs on this host.
        with smtp_server(settings, _wake_relay(settings)):
            wait_for_shutdown()
    elif role == "imap":
        # Like the SMTP edge, the readers only write to the store.
        with imap_readers(settings, _wake_relay(settings)):
            wait_for_shutdown()
    elif role == "slack":
        # Like the SMTP edge, Socket Mode only writes to the store.
        with slack_socket_mode(settings, _wake_relay(settings)):
            wait_for_shutdown()
    elif role == "worker":
        with (
            runtime_for(settings, settings.broker_url) as runtime,
            worker_pool(runtime),
            relay(runtime),
        ):
            wait_for_shutdown()
    else:
        from workers.process.housekeeping import housekeeper
        from workers.process.redeliver import redeliverer
        from workers.sla.sweep import sla_sweeper
        from workers.triage.retrain_schedule import retrainer

        with (
            runtime_for(settings, settings.broker_url) as runtime,
            relay(runtime),
            redeliverer(runtime),
            sla_sweeper(runtime),
            retrainer(runtime),
            housekeeper(runtime),
        ):
            wait_for_shutdown()


def redact_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"
