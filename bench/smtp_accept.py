"""SMTP accept throughput: omniroute's SMTP edge against a do-nothing aiosmtpd server.

What is compared
    (a) baseline: an aiosmtpd ``Controller`` whose ``handle_DATA`` answers
        ``250 OK`` and does nothing else. This is the floor: the cost of the SMTP
        protocol itself as aiosmtpd speaks it (asyncio, command parsing, DATA
        framing), with the same controller options the edge uses.
    (b) omniroute: ``IngestHandler`` served by ``start_smtp_server``, wired as the
        ``smtp`` role wires it, on the embedded default store: a fresh SQLite file
        in a temporary directory, migrated with ``ingest.migrate.upgrade``, engine
        from ``create_store_engine(url, statement_timeout_ms=10_000)``. Every DATA
        reply waits for the durable accept (raw message, dedupe key and outbox row
        committed in one transaction), as the design requires. A message larger
        than ``raw_blob_threshold_bytes`` (64 KiB) is first written to the blob
        store (a directory under the temporary data dir), as the role does.

Why
    The edge must not acknowledge before the commit, so it can never be as fast as
    (a); the question is how much of aiosmtpd's own throughput survives the
    durable accept. The target is ``median(b) / median(a) >= 0.8``.

How
    N messages (~``--size`` bytes each, unique Message-IDs, prepared before the
    clock starts) are sent over K persistent connections, one thread and one
    ``smtplib.SMTP`` per connection: connect and EHLO once (untimed), then
    MAIL/RCPT/DATA per message through ``sendmail``. The clock covers the first
    MAIL to the last DATA reply across all K threads. Each round runs both sides,
    alternating which goes first; (b) gets a fresh database every round.

    Every DATA reply must be 250 (and, on (b), a fresh "queued as", not a
    duplicate); on (b) the ``inbound`` and ``outbox`` tables must hold exactly N
    rows after the round. Anything else aborts the run with a non-zero exit.

    Client and servers share one process (and its GIL), so the client's own cost
    is paid on both sides; compare ratios, not absolute rates, across machines.
    With ``--client-process`` the clients run in a process of their own, as real
    senders do: they share neither the servers' GIL nor their CPU.
    Logging is left unconfigured, so the edge's per-message INFO lines are not
    emitted.

Run from the repository root:
    .venv/bin/python bench/smtp_accept.py [--messages N] [--connections K]
                                          [--rounds R] [--size BYTES] [--client-process]
"""

from __future__ import annotations

import argparse
import os
import platform
import smtplib
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import aiosmtpd
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, func, select

from channels.smtp import IngestHandler, start_smtp_server
from channels.smtp_limits import SmtpLimits
from config.settings import Settings, load_settings
from ingest.db import create_store_engine, session_factory
from ingest.migrate import upgrade
from ingest.models import InboundRecord, OutboxEntry
from ingest.raw_inputs import RawSpill

HOST = "127.0.0.1"
SENDER = "customer@example.org"
BODY_LINE = b"The export button on the billing page still spins forever after the update.\r\n"


class BenchFailure(RuntimeError):
    """A reply or a row count was not what a correct run produces."""


class NullHandler:
    """Baseline: accept every message and do nothing with it."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


class RecordingSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` that keeps the reply to the last DATA (``sendmail`` hides it)."""

    last_data_reply: tuple[int, bytes] = (0, b"")

    def data(self, msg: Any) -> tuple[int, bytes]:
        reply = super().data(msg)
        self.last_data_reply = reply
        return reply


@dataclass(frozen=True, slots=True)
class Options:
    messages: int
    connections: int
    rounds: int
    size: int
    client_process: bool = False


@dataclass(frozen=True, slots=True)
class Side:
    name: str
    expect_prefix: bytes  # the DATA reply text must start with this


BASELINE = Side("a: aiosmtpd no-op", b"OK")
TARGET = 0.8
OMNIROUTE = Side("b: omniroute accept", b"2.0.0 Ok: queued as ")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def make_messages(count: int, size: int, recipient: str, tag: str) -> list[bytes]:
    """Plain-text support mails of about ``size`` bytes, each with its own Message-ID."""
    messages = []
    date = formatdate(localtime=False)
    for i in range(count):
        head = (
            f"Return-Path: <{SENDER}>\r\n"
            f"From: Jane Customer <{SENDER}>\r\n"
            f"To: Support <{recipient}>\r\n"
            f"Subject: Billing export hangs (case {tag}-{i})\r\n"
            f"Date: {date}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}.{i}@mail.example.org>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "X-Mailer: bench/smtp_accept\r\n"
            "\r\n"
            "Hello support team,\r\n\r\n"
        ).encode()
        tail = b"\r\nThanks,\r\nJane\r\n"
        room = max(size - len(head) - len(tail), 0)
        lines, rest = divmod(room, len(BODY_LINE))
        body = BODY_LINE * lines
        if rest > 2:
            body += BODY_LINE[: rest - 2].rstrip() + b"\r\n"
        messages.append(head + body + tail)
    return messages


Drive = Callable[[int, list[bytes], int, str, Side], float]


def drive_apart(pool: ProcessPoolExecutor) -> Drive:
    """``drive`` run by the clients' own process (started once, before any round)."""

    def run(
        port: int, messages: list[bytes], connections: int, recipient: str, side: Side
    ) -> float:
        return pool.submit(drive, port, messages, connections, recipient, side).result()

    return run


def drive(port: int, messages: list[bytes], connections: int, recipient: str, side: Side) -> float:
    """Send every message over ``connections`` persistent sessions; return elapsed seconds."""
    shares = [messages[i::connections] for i in range(connections)]
    clients = []
    for _ in range(connections):
        client = RecordingSMTP(HOST, port, timeout=60)
        client.ehlo("bench.example.org")
        clients.append(client)
    start = threading.Barrier(connections + 1)
    errors: list[str] = []

    def run(client: RecordingSMTP, share: list[bytes]) -> None:
        start.wait()
        try:
            for raw in share:
                refused = client.sendmail(SENDER, [recipient], raw)
                code, text = client.last_data_reply
                if refused or code != 250 or not text.startswith(side.expect_prefix):
                    errors.append(f"{side.name}: reply {code} {text!r}, refused {refused}")
                    return
        except smtplib.SMTPException as exc:
            errors.append(f"{side.name}: {exc!r}")

    threads = [
        threading.Thread(target=run, args=(client, share), daemon=True)
        for client, share in zip(clients, shares, strict=True)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for client in clients:
        client.quit()
    if errors:
        raise BenchFailure("; ".join(errors[:5]))
    return elapsed


@contextmanager
def baseline_server(settings: Settings) -> Iterator[int]:
    port = free_port()
    controller = Controller(
        NullHandler(),
        hostname=HOST,
        port=port,
        data_size_limit=settings.smtp_max_message_bytes,
        server_hostname=settings.smtp_hostname,
        ident="omniroute ESMTP",
        decode_data=False,
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextmanager
def omniroute_server(settings: Settings) -> Iterator[tuple[int, Engine]]:
    """The ``smtp`` role's wiring (``roles.smtp_server``) on a fresh, migrated SQLite file."""
    url = settings.resolved_database_url
    upgrade(url)
    engine = create_store_engine(url, statement_timeout_ms=10_000)
    handler = IngestHandler(
        session_factory(engine),
        settings.recipients,
        limits=SmtpLimits.from_settings(settings),
        spill=RawSpill.for_settings(settings),
    )
    port = free_port()
    controller = start_smtp_server(
        handler,
        host=HOST,
        port=port,
        hostname=settings.smtp_hostname,
    )
    try:
        yield port, engine
    finally:
        controller.stop()
        engine.dispose()


def count_rows(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        inbound = conn.execute(select(func.count()).select_from(InboundRecord)).scalar_one()
        outbox = conn.execute(select(func.count()).select_from(OutboxEntry)).scalar_one()
    return int(inbound), int(outbox)


def run_baseline(args: Options, settings: Settings, tag: str, send: Drive = drive) -> float:
    recipient = settings.recipients[0]
    messages = make_messages(args.messages, args.size, recipient, tag)
    with baseline_server(settings) as port:
        elapsed = send(port, messages, args.connections, recipient, BASELINE)
    return args.messages / elapsed


def run_omniroute(args: Options, tag: str, send: Drive = drive) -> float:
    with tempfile.TemporaryDirectory(prefix="omniroute-bench-") as tmp:
        settings = bench_settings(Path(tmp))
        recipient = settings.recipients[0]
        messages = make_messages(args.messages, args.size, recipient, tag)
        with omniroute_server(settings) as (port, engine):
            elapsed = send(port, messages, args.connections, recipient, OMNIROUTE)
            inbound, outbox = count_rows(engine)
        if inbound != args.messages or outbox != args.messages:
            raise BenchFailure(
                f"{OMNIROUTE.name}: expected {args.messages} committed messages, "
                f"found {inbound} inbound and {outbox} outbox rows"
            )
    return args.messages / elapsed


def bench_settings(data_dir: Path) -> Settings:
    # The embedded default, whatever OMNIROUTE_DATABASE_URL says in this shell; every
    # message comes from one loopback address, so the per-client message rate is off.
    return load_settings(
        data_dir=data_dir, database_url=None, smtp_max_messages_per_client_per_minute=0
    )


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=2000, help="messages per side per round")
    parser.add_argument("--connections", type=int, default=8, help="persistent SMTP sessions")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (each runs both sides)")
    parser.add_argument("--size", type=int, default=2048, help="approximate message size, bytes")
    parser.add_argument(
        "--client-process",
        action="store_true",
        help="run the SMTP clients in a process of their own, not in the servers' process",
    )
    args = parser.parse_args(argv)
    for name in ("messages", "connections", "rounds", "size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.connections > args.messages:
        parser.error("--connections must not exceed --messages")
    return Options(args.messages, args.connections, args.rounds, args.size, args.client_process)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Only (b) touches a data directory, a fresh temporary one per round.
    settings = bench_settings(Path(".omniroute"))
    sample = make_messages(1, args.size, settings.recipients[0], "sample")[0]
    print(f"python     {platform.python_implementation()} {sys.version.split()[0]}")
    print(f"nproc      {os.cpu_count()}")
    print(f"aiosmtpd   {aiosmtpd.__version__}")
    print(
        f"settings   messages={args.messages} connections={args.connections} "
        f"rounds={args.rounds} size={args.size} (actual {len(sample)} bytes)"
    )
    print(
        f"edge       recipients={','.join(settings.recipients)} "
        f"max_bytes={settings.smtp_max_message_bytes} store=sqlite (fresh file per round)"
    )
    print()

    if not args.client_process:
        return _rounds(args, settings, drive)
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return _rounds(args, settings, drive_apart(pool))


def _rounds(args: Options, settings: Settings, send: Drive) -> int:
    where = "a process of their own" if args.client_process else "the servers' process"
    print(f"clients    in {where}")
    runs: dict[Side, list[float]] = {BASELINE: [], OMNIROUTE: []}
    sides: dict[Side, Callable[[str], float]] = {
        BASELINE: lambda tag: run_baseline(args, settings, tag, send),
        OMNIROUTE: lambda tag: run_omniroute(args, tag, send),
    }
    try:
        for round_no in range(1, args.rounds + 1):
            order = [BASELINE, OMNIROUTE] if round_no % 2 else [OMNIROUTE, BASELINE]
            for side in order:
                rate = sides[side](f"r{round_no}")
                runs[side].append(rate)
                print(f"round {round_no}  {side.name:<22} {rate:9.1f} msg/s")
    except BenchFailure as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1

    median_a = statistics.median(runs[BASELINE])
    median_b = statistics.median(runs[OMNIROUTE])
    ratio = median_b / median_a
    print()
    print(f"median    {BASELINE.name:<22} {median_a:9.1f} msg/s")
    print(f"median    {OMNIROUTE.name:<22} {median_b:9.1f} msg/s")
    verdict = "meets" if ratio >= TARGET else "below"
    print(f"ratio b/a (median)  {ratio:.3f}  ({verdict} the {TARGET} target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
