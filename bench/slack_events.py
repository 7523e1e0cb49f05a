"""Slack Events API throughput: ``POST /slack/events`` against a no-op endpoint.

What is compared
    (a) baseline: a Starlette endpoint on the same app and uvicorn server that reads
        the body and answers ``200`` with nothing else: the cost of HTTP as this
        stack speaks it.
    (b) omniroute: ``/slack/events`` as ``omniroute run`` serves it (bolt's request
        verification of the v0 signature, our store middleware, bolt's dispatch in a
        worker thread) on the embedded default store: a fresh SQLite file, migrated.
        Every answer waits for the durable accept (raw event, dedupe key and outbox
        row committed in one transaction).

Why
    The edge must verify and commit before it acknowledges, so it can never be as
    fast as (a); the target is ``median(b) / median(a) >= 0.5``.

How
    N signed ``message`` events (unique ``event_id`` and ``ts``, signed before the
    clock starts) are posted over K keep-alive connections, one thread and one
    ``httpx.Client`` each. Each round runs both sides, alternating which goes first.
    Every answer must be 200; after (b) the ``inbound`` table must hold N more rows.
    Client and server share one process (and its GIL): compare ratios, not rates.

Run from the repository root:
    PYTHONPATH=. .venv/bin/python bench/slack_events.py [--events N] [--connections K]
                                                        [--rounds R]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels.slack_http import slack_routes
from channels.web import create_app
from config.settings import Settings
from ingest.db import create_store_engine, session_factory
from ingest.migrate import upgrade
from ingest.models import InboundRecord
from tests.servers import http_server

SECRET = "bench-signing-secret"


class BenchFailure(RuntimeError):
    """An answer or a row count was not what a correct run produces."""


def signed_events(count: int, run: str) -> list[tuple[bytes, dict[str, str]]]:
    prepared = []
    stamp = str(int(time.time()))
    for index in range(count):
        ts = f"{1700000000 + index}.{run}"
        body = {
            "type": "event_callback",
            "team_id": "T0BENCH",
            "api_app_id": "A0BENCH",
            "event_id": f"Ev{run}{index:07d}",
            "event_time": 1700000000 + index,
            "event": {
                "type": "message",
                "channel": "C0SUPPORT",
                "user": "U0CUSTOMER",
                "text": "The export button on the billing page still spins forever.",
                "ts": ts,
                "channel_type": "channel",
            },
        }
        raw = json.dumps(body).encode()
        digest = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256)
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": f"v0={digest.hexdigest()}",
        }
        prepared.append((raw, headers))
    return prepared


Prepared = list[tuple[bytes, dict[str, str]]]


def blast(url: str, path: str, events: Prepared, connections: int) -> float:
    """Post every event over ``connections`` threads; events per second."""
    shares = [events[i::connections] for i in range(connections)]
    errors: list[str] = []
    clients = [httpx.Client(base_url=url, timeout=60) for _ in shares]
    for client in clients:
        client.get("/healthz")  # connect before the clock starts

    def send(client: httpx.Client, share: list[tuple[bytes, dict[str, str]]]) -> None:
        for raw, headers in share:
            response = client.post(path, content=raw, headers=headers)
            if response.status_code != 200:
                errors.append(f"{path}: {response.status_code} {response.text[:80]}")

    threads = [
        threading.Thread(target=send, args=(c, s)) for c, s in zip(clients, shares, strict=True)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    for client in clients:
        client.close()
    if errors:
        raise BenchFailure(errors[0])
    return len(events) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = create_store_engine(url, statement_timeout_ms=10_000)
        sessions = session_factory(engine)
        settings = Settings(
            data_dir=Path(tmp),
            database_url=url,
            slack_bot_token=SecretStr("xoxb-bench"),
            slack_signing_secret=SecretStr(SECRET),
            slack_api_url="http://127.0.0.1:9/api/",  # never called: the edge makes no API call
        )

        async def noop(request: Request) -> Response:
            await request.body()
            return Response(status_code=200)

        routes = [*slack_routes(settings, sessions), Route("/noop", noop, methods=["POST"])]
        app = create_app(sessions, extra_routes=routes)
        baseline: list[float] = []
        edge: list[float] = []
        with http_server(app) as base:
            for round_no in range(args.rounds):
                events = signed_events(args.events, f"{round_no:02d}{os.getpid() % 1000:03d}")
                with sessions() as session:
                    before = session.execute(select(func.count(InboundRecord.id))).scalar_one()
                order = ["noop", "slack"] if round_no % 2 == 0 else ["slack", "noop"]
                for side in order:
                    if side == "noop":
                        baseline.append(blast(base, "/noop", events, args.connections))
                    else:
                        edge.append(blast(base, "/slack/events", events, args.connections))
                with sessions() as session:
                    after = session.execute(select(func.count(InboundRecord.id))).scalar_one()
                stored = after - before
                if stored != args.events:
                    raise BenchFailure(f"round {round_no}: {stored} rows, not {args.events}")
                print(
                    f"round {round_no}: no-op {baseline[-1]:8.0f}/s  "
                    f"/slack/events {edge[-1]:8.0f}/s  ratio {edge[-1] / baseline[-1]:.2f}"
                )
        engine.dispose()

    ratio = statistics.median(edge) / statistics.median(baseline)
    load = os.getloadavg()
    print(
        f"median no-op {statistics.median(baseline):.0f}/s, /slack/events "
        f"{statistics.median(edge):.0f}/s, ratio {ratio:.2f} (target >= 0.5)"
    )
    print(
        f"{args.events} events x {args.rounds} rounds over {args.connections} connections; "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cpus, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    return 0 if ratio >= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
