"""The Dramatiq broker, built explicitly from settings (never Dramatiq's global default)."""

from __future__ import annotations

from urllib.parse import urlsplit

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from config.settings import Settings

QUEUE = "omniroute"

# Retries is the transient-fault path; our actors record bugs themselves and do
# not raise them (see workers/process/actors.py), so what reaches Retries is worth retrying.
MAX_RETRIES = 20
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 5 * 60_000
TIME_LIMIT_MS = 10 * 60_000


def middleware() -> list[dramatiq.Middleware]:
    return [
        AgeLimit(),
        TimeLimit(time_limit=TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(max_retries=MAX_RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS),
        CurrentMessage(),
    ]


def create_broker(url: str, settings: Settings) -> dramatiq.Broker:
    """A Redis (``redis://``, ``rediss://``, ``unix://``) or RabbitMQ (``amqp://``) broker."""
    scheme = urlsplit(url).scheme
    if scheme in {"amqp", "amqps"}:
        # RabbitMQ returns an unacked message the moment its consumer's connection drops.
        return RabbitmqBroker(url=url, middleware=middleware())
    # Explicit recovery settings: a killed worker stops heartbeating, and another
    # worker's maintenance pass requeues its unacked messages after the timeout.
    return RedisBroker(  # type: ignore[no-untyped-call]
        url=url,
        namespace=settings.broker_namespace,
        heartbeat_timeout=settings.broker_heartbeat_timeout_ms,
        maintenance_chance=settings.broker_maintenance_chance,
        middleware=middleware(),
    )


def ping(broker: dramatiq.Broker) -> None:
    """Raise if the broker cannot be reached."""
    if isinstance(broker, RedisBroker):
        broker.client.ping()
    elif isinstance(broker, RabbitmqBroker):
        broker.channel.queue_declare(QUEUE, passive=True)
    else:
        broker.get_declared_queues()


def queue_depth(broker: dramatiq.Broker) -> dict[str, int]:
    """Messages waiting per queue: ready, delayed (``.DQ``) and dead-lettered (``.XQ``)."""
    if isinstance(broker, RedisBroker):
        client, prefix = broker.client, f"{broker.namespace}:{QUEUE}"
        return {
            QUEUE: int(client.llen(prefix)),
            f"{QUEUE}.DQ": int(client.llen(f"{prefix}.DQ")),
            f"{QUEUE}.XQ": int(client.zcard(f"{prefix}.XQ")),
        }
    if isinstance(broker, RabbitmqBroker):
        ready, delayed, dead = broker.get_queue_message_counts(QUEUE)
        return {QUEUE: ready, f"{QUEUE}.DQ": delayed, f"{QUEUE}.XQ": dead}
    return {}
