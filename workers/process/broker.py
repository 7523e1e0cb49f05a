"""The Dramatiq broker, built explicitly from settings (never Dramatiq's global default)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import dramatiq
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

# RabbitMQ connection settings, explicit rather than pika's defaults (a 60 s server
# heartbeat, one connection attempt, no bound on a blocked connection). A setting
# the URL names itself wins.
RABBITMQ_PARAMETERS = {
    "heartbeat": "30",
    "blocked_connection_timeout": "30",
    "connection_attempts": "3",
    "retry_delay": "1",
    "socket_timeout": "5",
}

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


def is_rabbitmq(url: str) -> bool:
    return urlsplit(url).scheme in {"amqp", "amqps"}


def queue_for(url: str, settings: Settings) -> str:
    """The queue the actors listen on.

    Redis keeps each deployment's keys under its namespace; RabbitMQ has no such
    prefix, so there the namespace names the queue (by default both are ``omniroute``).
    """
    return settings.broker_namespace if is_rabbitmq(url) else QUEUE


def create_broker(url: str, settings: Settings) -> dramatiq.Broker:
    """A Redis (``redis://``, ``rediss://``, ``unix://``) or RabbitMQ (``amqp://``) broker."""
    if is_rabbitmq(url):
        # RabbitMQ returns an unacked message the moment its consumer's connection
        # drops (a killed worker's message comes back at once). Publisher confirms: the
        # relay marks an outbox row only after RabbitMQ has taken the message.
        from dramatiq.brokers.rabbitmq import RabbitmqBroker  # pika, only for RabbitMQ

        return RabbitmqBroker(url=rabbitmq_url(url), confirm_delivery=True, middleware=middleware())
    # Explicit recovery settings: a killed worker stops heartbeating, and another
    # worker's maintenance pass requeues its unacked messages after the timeout.
    return RedisBroker(  # type: ignore[no-untyped-call]
        url=url,
        namespace=settings.broker_namespace,
        heartbeat_timeout=settings.broker_heartbeat_timeout_ms,
        maintenance_chance=settings.broker_maintenance_chance,
        middleware=middleware(),
    )


def rabbitmq_url(url: str) -> str:
    """``url`` with our connection settings added where it does not name them."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for key, value in RABBITMQ_PARAMETERS.items():
        query.setdefault(key, value)
    return urlunsplit(parts._replace(query=urlencode(query)))


def broker_message_id(message: dramatiq.Message[object]) -> str:
    """The id the broker keeps ``message`` under (Redis gives each enqueue its own)."""
    return str(message.options.get("redis_message_id") or message.message_id)


def held_messages(broker: dramatiq.Broker, queue: str) -> Callable[[list[str]], set[str]] | None:
    """A look-up of which of some messages the broker still holds, queued or being
    processed; None when the broker cannot say (RabbitMQ looks up no single message:
    there only the redelivery timeout decides)."""
    if not isinstance(broker, RedisBroker):
        return None
    key = f"{broker.namespace}:{queue}.msgs"

    def held(message_ids: list[str]) -> set[str]:
        pipeline = broker.client.pipeline(transaction=False)
        for message_id in message_ids:
            pipeline.hexists(key, message_id)
        return {m for m, found in zip(message_ids, pipeline.execute(), strict=True) if found}

    return held


def ping(broker: dramatiq.Broker, queue: str = QUEUE) -> None:
    """Raise if the broker cannot be reached."""
    if isinstance(broker, RedisBroker):
        broker.client.ping()
    elif (rabbitmq := _as_rabbitmq(broker)) is not None:
        rabbitmq.channel.queue_declare(queue, passive=True)
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
    if (rabbitmq := _as_rabbitmq(broker)) is not None:
        ready, delayed, dead = rabbitmq.get_queue_message_counts(QUEUE)
        return {QUEUE: ready, f"{QUEUE}.DQ": delayed, f"{QUEUE}.XQ": dead}
    return {}


def _as_rabbitmq(broker: dramatiq.Broker) -> Any:
    """``broker`` if it is a RabbitMQ broker, else None. Its module (and pika under it)
    is imported only for an ``amqp://`` URL, so a broker can be one only once it is."""
    module = sys.modules.get("dramatiq.brokers.rabbitmq")
    return broker if module is not None and isinstance(broker, module.RabbitmqBroker) else None
