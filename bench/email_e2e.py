"""Email end to end: mail over SMTP to routed, acknowledged tickets, with `omniroute run`.

What is measured
    A seeded corpus of mixed mail (text/plain, multipart/alternative, HTML only;
    UTF-8, Latin-1 and ISO-2022-JP bodies in quoted-printable, base64 and 8bit;
    small attachments; about 30% replies, most by ``In-Reply-To``/``References``,
    some only by the ``[Ticket #N]`` subject tag of the ticket their original
    opened) is sent over K SMTP connections to ``omniroute run`` started on a
    fresh data dir (or on the servers named by ``OMNIROUTE_DATABASE_URL`` /
    ``OMNIROUTE_BROKER_URL``). The clock runs from the first MAIL to the moment
    every inbound record is processed, every ticket has a decision and every
    acknowledgement left ``sending``.

    Printed: emails per second, CPU seconds per email of the omniroute process
    tree (with the embedded redis-server, which daemonizes), its peak RSS (sum
    over the tree, sampled every 50 ms) and PSS (shared pages counted once), each
    process's RSS/PSS idle and at peak, the p50/p99 time of the SMTP transaction
    as the client sees it, and the correctness counts:
    originals that did not open their own ticket, replies on the wrong ticket or
    split off, markers and non-ASCII phrases lost from the stored text, and
    attachments lost.

    Subject-tag replies are sent after the originals they answer were processed,
    as a customer answering our acknowledgement would (the tag names the ticket
    number omniroute gave); all other mail goes as fast as the connections allow.

Run from the repository root:
    .venv/bin/python bench/email_e2e.py [--n 2000] [--seed 42] [--connections 4]
                                        [--worker-threads 4] [--rounds 1]
                                        [--rules FILE | --no-model] [--settle 3]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import quopri
import random
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.proc_stats import stat_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
OMNIROUTE = Path(sys.executable).with_name("omniroute")

PHRASES = {
    "utf-8": "Grüße aus München, señor: ça coûte 12 €",
    "iso-8859-1": "Café crème à la française, naïve façade",
    "iso-2022-jp": "お世話になっております。請求書について",
    "us-ascii": "",
}
SUBJECTS = [
    "Cannot log in since this morning",
    "Invoice {n} charged twice",
    "Export to PDF fails with an error",
    "How do I add a colleague to my account?",
    "Refund for order {n}",
    "The dashboard is slow today",
    "Password reset link does not arrive",
    "Feature request: dark mode",
]
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@dataclass
class Mail:
    index: int
    thread: int
    raw: bytes
    message_id: str
    marker: str
    phrase: str
    attachments: int
    parent: str | None = None
    by_tag: bool = False


@dataclass
class Corpus:
    mails: list[Mail] = field(default_factory=list)

    @property
    def originals(self) -> list[Mail]:
        return [m for m in self.mails if m.parent is None and not m.by_tag]


def _encode(text: str, charset: str, cte: str) -> tuple[bytes, str]:
    data = text.encode(charset)
    if cte == "base64":
        return base64.encodebytes(data), "base64"
    if cte == "quoted-printable":
        return quopri.encodestring(data), "quoted-printable"
    return data, "8bit" if charset != "us-ascii" and charset != "iso-2022-jp" else "7bit"


def _part(body: str, subtype: str, charset: str, cte: str) -> bytes:
    payload, cte_name = _encode(body, charset, cte)
    head = (
        f"Content-Type: text/{subtype}; charset={charset}\n"
        f"Content-Transfer-Encoding: {cte_name}\n\n"
    )
    return head.encode() + payload


def _header(raw: bytes, name: str) -> str:
    return raw.split(f"{name}: ".encode(), 1)[1].split(b"\n", 1)[0].decode()


def generate(n: int, seed: int, reply_ratio: float = 0.3, tag_share: float = 0.2) -> Corpus:
    """N mails in sending order; the same seed gives the same bytes."""
    rng = random.Random(seed)
    corpus = Corpus()
    threads: list[list[Mail]] = []
    for index in range(n):
        is_reply = threads and rng.random() < reply_ratio
        charset, cte = rng.choice(
            [
                ("utf-8", "quoted-printable"),
                ("utf-8", "base64"),
                ("utf-8", "8bit"),
                ("iso-8859-1", "quoted-printable"),
                ("iso-8859-1", "8bit"),
                ("iso-2022-jp", "7bit"),
                ("us-ascii", "7bit"),
            ]
        )
        marker = f"BENCH{seed}X{index:06d}"
        phrase = PHRASES[charset]
        sender_n = rng.randrange(n // 3 + 1)
        sender = formataddr((f"Customer {sender_n}", f"customer{sender_n}@example.org"))
        message_id = f"<bench.{seed}.{index}@mail.example.org>"
        if is_reply:
            thread_no = rng.randrange(max(0, len(threads) - 50), len(threads))
            thread = threads[thread_no]
            parent = thread[-1]
            by_tag = rng.random() < tag_share
            subject = "Re: " + _header(thread[0].raw, "Subject")
            sender = _header(thread[0].raw, "From")
        else:
            thread_no, parent, by_tag = len(threads), None, False
            subject = rng.choice(SUBJECTS).format(n=1000 + index)
        text = (
            f"Hello,\n\nplease look into this ({marker}). {phrase}\n"
            f"{'It happened again today.' if is_reply else 'Thank you.'}\n\nBest regards\n"
        )
        if parent is not None:
            text += f"\nOn Monday, support wrote:\n> earlier message {parent.marker}\n"
        layout = rng.choices(["plain", "alternative", "html"], weights=[50, 45, 5])[0]
        if layout == "plain":
            body_part = _part(text, "plain", charset, cte)
        else:
            html = "<html><body><p>" + text.replace("\n", "<br>") + "</p></body></html>"
            html_part = _part(html, "html", charset, cte)
            if layout == "html":
                body_part = html_part
            else:
                body_part = (
                    b'Content-Type: multipart/alternative; boundary="alt"\n\n--alt\n'
                    + _part(text, "plain", charset, cte)
                    + b"\n--alt\n"
                    + html_part
                    + b"\n--alt--\n"
                )
        attachments = rng.choices([0, 1, 2], weights=[88, 9, 3])[0]
        if attachments:
            parts = [body_part]
            for k in range(attachments):
                parts.append(
                    f'Content-Type: image/png; name="shot{k}.png"\n'
                    f'Content-Disposition: attachment; filename="shot{k}.png"\n'
                    "Content-Transfer-Encoding: base64\n\n".encode()
                    + base64.encodebytes(PNG + marker.encode() + bytes([k]))
                )
            body_part = (
                b'Content-Type: multipart/mixed; boundary="mix"\n\n'
                + b"".join(b"--mix\n" + p + b"\n" for p in parts)
                + b"--mix--\n"
            )
        headers = [
            f"From: {sender}",
            "To: support@example.com",
            f"Subject: {subject}",
            f"Date: {format_datetime(datetime(2026, 11, 1, tzinfo=UTC))}",
            f"Message-ID: {message_id}",
            "MIME-Version: 1.0",
        ]
        if parent is not None and not by_tag:
            # As mail clients do: the parent, and the thread's earlier ids in References.
            chain = " ".join(dict.fromkeys(m.message_id for m in [thread[0], *thread[-9:]]))
            headers += [f"In-Reply-To: {parent.message_id}", f"References: {chain}"]
        raw = ("\n".join(headers) + "\n").encode() + body_part
        mail = Mail(index, thread_no, raw, message_id, marker, phrase, attachments, None, by_tag)
        if parent is not None:
            mail.parent = parent.message_id
            thread.append(mail)
        else:
            threads.append([mail])
        corpus.mails.append(mail)
    return corpus


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def omniroute_run(
    data_dir: Path, worker_threads: int, rules_file: Path | None = None, extra_workers: int = 0
) -> Iterator[tuple[list[int], int, str]]:
    smtp_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "OMNIROUTE_DATA_DIR": str(data_dir),
        "OMNIROUTE_SMTP_PORT": str(smtp_port),
        "OMNIROUTE_HTTP_PORT": str(http_port),
        "OMNIROUTE_WORKER_THREADS": str(worker_threads),
        "OMNIROUTE_RECIPIENTS": "support@example.com",
        "OMNIROUTE_AUTOMATED_SENDS_PER_HOUR": "1000",
        # Every bench connection comes from 127.0.0.1: lift the per-client limits.
        "OMNIROUTE_SMTP_MAX_MESSAGES_PER_CLIENT_PER_MINUTE": "0",
        "OMNIROUTE_SMTP_MAX_CONNECTIONS_PER_CLIENT": "0",
        "OMNIROUTE_LOG_LEVEL": os.environ.get("E2E_LOG_LEVEL", "WARNING"),
    }
    if rules_file is not None:
        env["OMNIROUTE_RULES_FILE"] = str(rules_file.resolve())
    url = env.get("OMNIROUTE_DATABASE_URL") or f"sqlite:///{data_dir / 'omniroute.db'}"
    subprocess.run([str(OMNIROUTE), "db", "upgrade"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([str(OMNIROUTE), "run"], env=env, start_new_session=True)
    # More worker processes on the same store and broker, as a deployment scales out.
    extras = [
        subprocess.Popen([str(OMNIROUTE), "worker"], env=env, start_new_session=True)
        for _ in range(extra_workers)
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", smtp_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("omniroute run did not open its SMTP port")
        yield [proc.pid, *(extra.pid for extra in extras)], smtp_port, url
    finally:
        for member in (proc, *extras):
            os.killpg(member.pid, signal.SIGTERM)
        for member in (proc, *extras):
            try:
                member.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(member.pid, signal.SIGKILL)
                member.wait()


def tree(roots: list[int]) -> list[int]:
    """The ``roots`` processes and all their descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], list(roots)
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def daemons_in(directory: Path) -> list[int]:
    """Processes working in ``directory`` outside the tree: the embedded redis-server,
    which daemonizes (its working directory is the data dir's ``redis`` folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = (entry / "cwd").resolve(strict=True)
            except OSError:
                continue
            if cwd.is_relative_to(directory.resolve()):
                found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    return sum(stat_cpu_seconds(Path(f"/proc/{pid}/stat")) or 0.0 for pid in pids)


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def pss_bytes(pid: int) -> int:
    """Proportional set size: shared pages count once over the processes sharing them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def role_of(pid: int) -> str:
    """What a process of the tree is: ``run``, a role child (``smtp``...) or ``redis``."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in argv if a]
    if not words:
        return "?"
    if "redis" in Path(words[0]).name:
        return "redis"
    return words[-1]


def memory_by_role(pids: list[int]) -> dict[str, tuple[int, int]]:
    """RSS and PSS in bytes of each process, by role (summed when a role has several;
    ``run``'s forked edge children, which keep its command line, as ``run-fork``)."""
    found: dict[str, tuple[int, int]] = {}
    seen: set[str] = set()
    for pid in pids:
        role = role_of(pid)
        if role in seen and role == "run":
            role = "run-fork"  # an edge forked from `omniroute run` keeps its command line
        seen.add(role)
        rss, pss = found.get(role, (0, 0))
        found[role] = (rss + rss_bytes([pid]), pss + pss_bytes(pid))
    return found


class Sampler(threading.Thread):
    """Peak RSS and CPU of a process tree every 50 ms; peak PSS and each role's peak
    RSS/PSS every 0.5 s (reading smaps walks the page tables), until stopped."""

    def __init__(self, roots: list[int], extra: list[int]) -> None:
        super().__init__(daemon=True)
        self.roots = roots
        self.extra = extra
        self.peak = 0
        self.peak_pss = 0
        self.roles: dict[str, tuple[int, int]] = {}
        self.cpu = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        tick = 0
        while not self.stop.is_set():
            pids = tree(self.roots) + self.extra
            self.peak = max(self.peak, rss_bytes(pids))
            self.cpu = max(self.cpu, cpu_seconds(pids))
            if tick % 10 == 0:
                self.sample_roles(pids)
            tick += 1
            self.stop.wait(0.05)

    def sample_roles(self, pids: list[int]) -> None:
        by_role = memory_by_role(pids)
        self.peak_pss = max(self.peak_pss, sum(pss for _, pss in by_role.values()))
        for role, (rss, pss) in by_role.items():
            old_rss, old_pss = self.roles.get(role, (0, 0))
            self.roles[role] = (max(old_rss, rss), max(old_pss, pss))


def mib_by_role(by_role: dict[str, tuple[int, int]]) -> str:
    return "  ".join(
        f"{role} {rss / 2**20:.0f}/{pss / 2**20:.0f}"
        for role, (rss, pss) in sorted(by_role.items())
    )


def send_all(port: int, mails: list[Mail], connections: int) -> list[float]:
    """Send ``mails`` over ``connections`` SMTP sessions; the client-side seconds per mail."""
    timings: list[float] = []
    lock = threading.Lock()
    shares = [mails[i::connections] for i in range(connections)]

    def worker(share: list[Mail]) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
            client.ehlo("bench.example.org")
            for mail in share:
                started = time.perf_counter()
                for attempt in range(20):
                    try:
                        client.sendmail("customer@example.org", ["support@example.com"], mail.raw)
                        break
                    except smtplib.SMTPResponseException as exc:
                        if exc.smtp_code // 100 != 4 or attempt == 19:
                            raise
                        time.sleep(0.5)
                elapsed = time.perf_counter() - started
                with lock:
                    timings.append(elapsed)

    errors: list[BaseException] = []

    def guarded(share: list[Mail]) -> None:
        try:
            worker(share)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(share,)) for share in shares if share]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"a sending connection failed: {errors[0]!r}")
    return timings


class Store:
    """Read-only queries on the store the run writes (SQLite file or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(url)

    def rows(self, sql: str, **params: Any) -> list[Any]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def settled(self, expected_inbound: int) -> bool:
        (done,) = self.rows("SELECT count(*) FROM inbound WHERE status != 'pending'")[0]
        if done < expected_inbound:
            return False
        (untriaged,) = self.rows(
            "SELECT count(*) FROM tickets t WHERE NOT EXISTS "
            "(SELECT 1 FROM decisions d WHERE d.ticket_id = t.id)"
        )[0]
        (unacked,) = self.rows(
            "SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM automated_sends a "
            "WHERE a.ticket_id = t.id AND a.status != 'sending')"
        )[0]
        return untriaged == 0 and unacked == 0


def wait_settled(store: Store, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.settled(expected):
            return
        time.sleep(0.1)
    raise RuntimeError(f"not settled after {timeout:.0f} s")


def check(store: Store, corpus: Corpus) -> dict[str, int]:
    by_id = {
        row[0]: (row[1], row[2], row[3])
        for row in store.rows(
            "SELECT message_id_header, ticket_id, thread_signal, body_full FROM messages "
            "WHERE direction = 'inbound'"
        )
    }
    attachments = dict(
        store.rows(
            "SELECT m.message_id_header, count(a.id) FROM messages m JOIN attachments a "
            "ON a.message_id = m.id WHERE a.refused_reason IS NULL GROUP BY m.message_id_header"
        )
    )
    thread_ticket: dict[int, int] = {}
    counts = {
        "missing": 0,
        "originals_merged": 0,
        "replies_misthreaded": 0,
        "markers_lost": 0,
        "phrases_lost": 0,
        "attachments_lost": 0,
    }
    for mail in corpus.mails:
        found = by_id.get(mail.message_id)
        if found is None:
            counts["missing"] += 1
            continue
        ticket, signal_name, body = found
        if mail.parent is None and not mail.by_tag:
            if signal_name not in ("new-ticket", "answered-by"):
                counts["originals_merged"] += 1
            thread_ticket.setdefault(mail.thread, ticket)
    for mail in corpus.mails:
        found = by_id.get(mail.message_id)
        if found is None:
            continue
        ticket, _, body = found
        if thread_ticket.get(mail.thread) != ticket:
            counts["replies_misthreaded"] += 1
        if mail.marker not in body:
            counts["markers_lost"] += 1
        if mail.phrase and mail.phrase not in body:
            counts["phrases_lost"] += 1
        counts["attachments_lost"] += max(0, mail.attachments - attachments.get(mail.message_id, 0))
    return counts


def tag_replies(store: Store, corpus: Corpus) -> list[Mail]:
    """Subject-tag replies, their tag naming the ticket their thread's original opened."""
    tickets = dict(
        store.rows("SELECT message_id_header, ticket_id FROM messages WHERE direction = 'inbound'")
    )
    firsts = {m.thread: m for m in corpus.originals}
    out = []
    for mail in corpus.mails:
        if not mail.by_tag:
            continue
        number = tickets[firsts[mail.thread].message_id]
        mail.raw = mail.raw.replace(
            b"Subject: Re: ", f"Subject: Re: [Ticket #{number}] ".encode(), 1
        )
        out.append(mail)
    return out


def rules_without_model() -> Path:
    """A copy of the shipped rules that turns the category model off."""
    shipped = (ROOT / "config" / "default_rules.yaml").read_text()
    head, sep, tail = shipped.partition("\ncategorize:\n")
    assert sep, "the shipped rules have no categorize: section"
    path = Path(tempfile.mkdtemp(prefix="omniroute-e2e-rules-")) / "rules.yaml"
    path.write_text(head + sep + "  classifier:\n    model: none\n" + tail)
    return path


def one_round(args: argparse.Namespace, corpus: Corpus) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="omniroute-e2e-"))
    try:
        with omniroute_run(work / "data", args.worker_threads, args.rules, args.extra_workers) as (
            roots,
            port,
            url,
        ):
            store = Store(url)
            time.sleep(args.settle)
            extra = [pid for pid in daemons_in(work / "data") if pid not in tree(roots)]
            idle = memory_by_role(tree(roots) + extra)
            sampler = Sampler(roots, extra)
            sampler.start()
            cpu_before = cpu_seconds(tree(roots) + extra)
            first = [m for m in corpus.mails if not m.by_tag]
            started = time.perf_counter()
            timings = send_all(port, first, args.connections)
            wait_settled(store, len(first), args.timeout)
            later = tag_replies(store, corpus)
            timings += send_all(port, later, args.connections)
            wait_settled(store, len(corpus.mails), args.timeout)
            elapsed = time.perf_counter() - started
            sampler.stop.set()
            sampler.join()
            sampler.sample_roles(tree(roots) + extra)
            cpu = cpu_seconds(tree(roots) + extra) - cpu_before
            counts = check(store, corpus)
            store.engine.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    timings.sort()
    n = len(corpus.mails)
    print(f"  idle RSS/PSS MiB by process: {mib_by_role(idle)}")
    print(f"  peak RSS/PSS MiB by process: {mib_by_role(sampler.roles)}")
    return {
        "emails_per_second": n / elapsed,
        "cpu_ms_per_email": max(cpu, sampler.cpu - cpu_before) * 1000 / n,
        "peak_rss_mib": sampler.peak / 2**20,
        "peak_pss_mib": sampler.peak_pss / 2**20,
        "idle_rss_mib": sum(rss for rss, _ in idle.values()) / 2**20,
        "idle_pss_mib": sum(pss for _, pss in idle.values()) / 2**20,
        "smtp_p50_ms": statistics.median(timings) * 1000,
        "smtp_p99_ms": timings[int(len(timings) * 0.99) - 1] * 1000,
        **counts,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--worker-threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--extra-workers",
        type=int,
        default=0,
        help="start this many `omniroute worker` processes beside `omniroute run` "
        "(needs OMNIROUTE_DATABASE_URL and OMNIROUTE_BROKER_URL: a server store and broker)",
    )
    parser.add_argument("--timeout", type=float, default=600)
    rules = parser.add_mutually_exclusive_group()
    rules.add_argument(
        "--rules", type=Path, help="rules file for omniroute (default: the shipped rules)"
    )
    rules.add_argument(
        "--no-model",
        action="store_true",
        help="the shipped rules with `classifier: {model: none}` (no category model)",
    )
    parser.add_argument(
        "--settle", type=float, default=3.0, help="seconds idle before the idle memory figures"
    )
    args = parser.parse_args()
    if args.no_model:
        args.rules = rules_without_model()
    print(f"nproc={os.cpu_count()} load={os.getloadavg()[0]:.2f} n={args.n} seed={args.seed}")
    results = []
    for number in range(args.rounds):
        corpus = generate(args.n, args.seed)
        result = one_round(args, corpus)
        results.append(result)
        print(f"round {number + 1}: " + json.dumps({k: round(v, 2) for k, v in result.items()}))
    if args.rounds > 1:
        medians = {k: statistics.median(r[k] for r in results) for k in results[0]}
        print("median: " + json.dumps({k: round(v, 2) for k, v in medians.items()}))
    bad = sum(results[-1][k] for k in ("missing", "originals_merged", "replies_misthreaded"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
