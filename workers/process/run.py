"""``omniroute run``: every role on one machine, the edges in child processes of their own."""

from __future__ import annotations

import logging
import signal
from contextlib import ExitStack
from functools import partial

from config.settings import Settings
from workers.process.roles import (
    check_deployment,
    heartbeat,
    http_listener,
    redact_url,
    relay,
    run_role,
    runtime_for,
    serve_http,
    worker_pool,
)

log = logging.getLogger(__name__)


def run_all(settings: Settings) -> None:
    """``omniroute run``: migrations, broker, workers, relay, sweeps and HTTP here; the SMTP edge
    and IMAP readers as child processes on the same store."""
    from workers.process.supervisor import child_roles, run_apart

    settings.ensure_data_dir()
    # The edges answer senders from processes of their own, so work never slows a 250;
    # each child says what it serves and beats for its role itself.
    edges = [
        "smtp",
        *(["imap"] if settings.imap_mailboxes else []),
        *(["slack"] if settings.slack_app_token is not None else []),
    ]
    here = ["web", "worker", "scheduler"]
    check_deployment(settings, f"run ({', '.join(here)}; children {', '.join(edges)})")
    # Alembic is loaded, and left, in a child of its own: neither this process nor
    # the edges forked from it carry it.
    run_apart("migrating the store", partial(_upgrade, settings.resolved_database_url))
    with ExitStack() as stack:
        # The edges first, while this process has no thread and has not loaded the
        # worker's stack: each is forked from it and shares only what both need
        # (see ``supervisor``).
        stack.enter_context(
            child_roles(
                edges,
                {"OMNIROUTE_DATABASE_URL": settings.resolved_database_url},
                serve=lambda role: run_role(role, settings),
            )
        )
        # The HTTP port next, before anything starts: a taken port stops ``run`` at once,
        # in one line. The children are forked already and do not inherit the socket.
        listener = stack.enter_context(http_listener(settings))
        from workers.process.embedded_redis import EmbeddedRedis
        from workers.process.housekeeping import housekeeper
        from workers.process.redeliver import redeliverer
        from workers.sla.sweep import sla_sweeper
        from workers.triage.retrain_schedule import retrainer

        broker_url = settings.broker_url
        if broker_url is None:
            embedded = EmbeddedRedis(settings.data_dir / "redis")
            stack.callback(embedded.close)
            broker_url = embedded.url
            log.info("embedded redis at %s", broker_url)
        runtime = stack.enter_context(runtime_for(settings, broker_url))
        stack.enter_context(worker_pool(runtime))
        stack.enter_context(relay(runtime))
        stack.enter_context(redeliverer(runtime))
        stack.enter_context(sla_sweeper(runtime))
        stack.enter_context(retrainer(runtime))
        stack.enter_context(housekeeper(runtime))
        stack.enter_context(heartbeat(settings, *here))
        log.info(
            "omniroute running: http://%s:%s  smtp %s:%s  store %s",
            settings.http_host,
            listener.getsockname()[1],
            settings.smtp_host,
            settings.smtp_port,
            redact_url(settings.resolved_database_url),
        )
        # uvicorn re-raises SIGTERM after its own shutdown; as SystemExit it unwinds this
        # stack, so IMAP readers release their leases and workers stop cleanly.
        signal.signal(signal.SIGTERM, _exit)
        serve_http(runtime, listener)


def _upgrade(database_url: str) -> None:
    from ingest.migrate import upgrade

    upgrade(database_url)


def _exit(*_: object) -> None:
    raise SystemExit(0)
