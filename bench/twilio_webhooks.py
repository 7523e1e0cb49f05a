"""Twilio webhook throughput: ``POST /webhooks/twilio/sms`` against a no-op ASGI endpoint.

What is compared
    (a) baseline: a Starlette route on the same app and the same uvicorn server that
        reads the form body and answers the same empty TwiML, doing nothing else.
    (b) omniroute: ``POST /webhooks/twilio/sms`` as ``omniroute run`` serves it:
        signature checked with ``twilio.request_validator.RequestValidator``, the raw
        request committed with its MessageSid dedupe key and an outbox row (the
        embedded default: a fresh, migrated SQLite file), then the empty TwiML.

Why
    Twilio waits for our answer (15 s, then its fallback URL); the edge must answer
    only after the commit. Target: ``median(b) / median(a) >= 0.5``.

How
    N signed webhook requests (unique MessageSids, signatures computed before the
    clock starts) go over K persistent HTTP/1.1 connections (one ``httpx.Client``
    per thread). Each round runs both sides against the one server, alternating
    which goes first. Every answer must be 200 with the TwiML; after each (b) round
    the ``inbound`` table must hold exactly the round's N new rows. Client and
    server share one process, so compare ratios, not absolute rates.

Run from the repository root:
    .venv/bin/python bench/twilio_webhooks.py [--requests N] [--connections K] [--rounds R]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import uvicorn
from sqlalchemy import Engine, func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from channels.replies import TWIML_EMPTY, TWIML_MEDIA_TYPE
from channels.web import create_app
from config.settings import Settings, load_settings
from ingest.db import create_store_engine, session_factory
from ingest.migrate import upgrade
from ingest.models import InboundRecord

HOST = "127.0.0.1"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "bench-auth-token"
PUBLIC_URL = "https://support.example.com"
SMS_PATH = "/webhooks/twilio/sms"
NOOP_PATH = "/bench/noop"


class BenchFailure(RuntimeError):
    """An answer or a row count was not what a correct run produces."""


@dataclass(frozen=True, slots=True)
class Options:
    requests: int
    connections: int
    rounds: int


def signed_requests(count: int, tag: str) -> list[tuple[bytes, dict[str, str]]]:
    """Twilio's incoming-SMS parameters, each with its own MessageSid, signed."""
    validator = RequestValidator(AUTH_TOKEN)
    prepared = []
    for i in range(count):
        sid = f"SM{tag}{i:0>{32 - len(tag)}}"
        form = {
            "ToCountry": "US",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": f"My order {i} never arrived, can you check where it is?",
            "FromCountry": "US",
            "To": "+14155550999",
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": f"+1415555{i % 10000:04d}",
            "ApiVersion": "2010-04-01",
        }
        headers = {
            "X-Twilio-Signature": validator.compute_signature(PUBLIC_URL + SMS_PATH, form),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        prepared.append((urlencode(form).encode(), headers))
    return prepared


def drive(base: str, path: str, requests: list[tuple[bytes, dict[str, str]]], k: int) -> float:
    shares = [requests[i::k] for i in range(k)]
    clients = [httpx.Client(base_url=base, timeout=60) for _ in range(k)]
    for client in clients:
        client.get("/healthz")  # connect outside the clock
    start = threading.Barrier(k + 1)
    errors: list[str] = []

    def run(client: httpx.Client, share: list[tuple[bytes, dict[str, str]]]) -> None:
        start.wait()
        for body, headers in share:
            response = client.post(path, content=body, headers=headers)
            if response.status_code != 200 or response.text != TWIML_EMPTY:
                errors.append(f"{path}: {response.status_code} {response.text[:80]!r}")
                return

    threads = [
        threading.Thread(target=run, args=pair) for pair in zip(clients, shares, strict=True)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for client in clients:
        client.close()
    if errors:
        raise BenchFailure("; ".join(errors[:5]))
    return elapsed


async def noop(request: Request) -> Response:
    await request.body()
    return Response(TWIML_EMPTY, media_type=TWIML_MEDIA_TYPE)


@contextmanager
def server(settings: Settings) -> Iterator[tuple[str, Engine]]:
    """omniroute's app (as ``omniroute run`` builds it) plus the no-op route, on uvicorn."""
    url = settings.resolved_database_url
    upgrade(url)
    engine = create_store_engine(url, statement_timeout_ms=10_000)
    app = create_app(session_factory(engine), settings=settings)
    app.router.routes.append(Route(NOOP_PATH, noop, methods=["POST"]))
    config = uvicorn.Config(app, host=HOST, port=0, log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    while not uv.started:
        time.sleep(0.01)
    port = uv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{HOST}:{port}", engine
    finally:
        uv.should_exit = True
        thread.join()
        engine.dispose()


def count_inbound(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(InboundRecord)).scalar_one())


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="requests per side per round")
    parser.add_argument("--connections", type=int, default=8, help="persistent HTTP connections")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (each runs both sides)")
    args = parser.parse_args(argv)
    if min(args.requests, args.connections, args.rounds) < 1:
        parser.error("every option must be at least 1")
    return Options(args.requests, args.connections, args.rounds)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.disable(logging.INFO)
    print(f"python     {platform.python_implementation()} {sys.version.split()[0]}")
    print(f"nproc      {os.cpu_count()}")
    print(
        f"settings   requests={args.requests} connections={args.connections} rounds={args.rounds}"
    )
    print("store      sqlite (fresh migrated file for the run)\n")
    rates: dict[str, list[float]] = {"a: no-op endpoint": [], "b: twilio webhook": []}
    with tempfile.TemporaryDirectory(prefix="omniroute-bench-") as tmp:
        settings = load_settings(
            data_dir=Path(tmp),
            database_url=None,
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_numbers="+14155550999",
            public_url=PUBLIC_URL,
        )
        with server(settings) as (base, engine):
            try:
                for round_no in range(1, args.rounds + 1):
                    noop_load = signed_requests(args.requests, f"n{round_no}")
                    sms_load = signed_requests(args.requests, f"r{round_no}")
                    order = ["a", "b"] if round_no % 2 else ["b", "a"]
                    for side in order:
                        if side == "a":
                            seconds = drive(base, NOOP_PATH, noop_load, args.connections)
                            name = "a: no-op endpoint"
                        else:
                            before = count_inbound(engine)
                            seconds = drive(base, SMS_PATH, sms_load, args.connections)
                            stored = count_inbound(engine) - before
                            if stored != args.requests:
                                raise BenchFailure(f"{stored} rows stored, not {args.requests}")
                            name = "b: twilio webhook"
                        rates[name].append(args.requests / seconds)
                        print(f"round {round_no}  {name:<20} {args.requests / seconds:9.1f} req/s")
            except BenchFailure as exc:
                print(f"FAILED: {exc}", file=sys.stderr)
                return 1
    a, b = (statistics.median(v) for v in rates.values())
    ratio = b / a
    print()
    print(f"median    a: no-op endpoint    {a:9.1f} req/s")
    print(f"median    b: twilio webhook    {b:9.1f} req/s")
    print(
        f"ratio b/a (median)  {ratio:.3f}  ({'meets' if ratio >= 0.5 else 'below'} the 0.5 target)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
