"""The worker's unit of work in process: stored mail to routed, planned tickets, no hops.

What is measured
    The corpus of ``bench/email_e2e.py`` (same generator, same seed) is accepted into
    a fresh, migrated SQLite file (or the store ``OMNIROUTE_DATABASE_URL`` names) with
    the edge's own ``accept_batch``. Then the worker's ``ingest`` actor body runs over
    every inbound record in arrival order, in this one thread, with the default rules
    and model: ``process_inbound`` with the inline continuation (triage and the
    acknowledgement's plan in the same transaction). No SMTP, no broker, no relay.

    Printed: records per second, CPU milliseconds per record, and SQL statements per
    record, split by what the record became (a new ticket, a message on an existing
    one). ``--profile`` adds the cProfile top functions by cumulative and own time.

Run from the repository root:
    PYTHONPATH=. .venv/bin/python bench/ingest_inprocess.py [--n 2000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _corpus(n: int, seed: int) -> list[bytes]:
    spec = importlib.util.spec_from_file_location("email_e2e", ROOT / "bench" / "email_e2e.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["email_e2e"] = module
    spec.loader.exec_module(module)
    return [mail.raw for mail in module.generate(n, seed).mails]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="omniroute-inproc-"))
    os.environ.setdefault("OMNIROUTE_DATA_DIR", str(work))
    os.environ.setdefault("OMNIROUTE_RECIPIENTS", "support@example.com")
    os.environ.setdefault("OMNIROUTE_AUTOMATED_SENDS_PER_HOUR", "100000")

    from channels.email_out import mail_transport
    from channels.reply_senders import SenderResources, build_senders
    from config.settings import load_settings
    from ingest.accept import accept_batch
    from ingest.db import create_store_engine, session_factory, unit_of_work
    from ingest.migrate import upgrade
    from ingest.models import InboundRecord, Message
    from ingest.pipeline import process_inbound
    from ingest.raw_inputs import RawInput
    from normalize.dedupe import email_dedupe_key
    from workers.process.continuation import RouteInline
    from workers.triage.live_model import classifier_for
    from workers.triage.rules_source import RulesSource

    settings = load_settings()
    url = settings.resolved_database_url
    upgrade(url)
    engine = create_store_engine(url)
    sessions = session_factory(engine)
    raws = _corpus(args.n, args.seed)
    envelope = {"mail_from": "customer@example.org", "rcpt_tos": ["support@example.com"]}
    inputs = [RawInput("email", email_dedupe_key(raw), raw, envelope) for raw in raws]
    for start in range(0, len(inputs), 100):
        accept_batch(sessions, inputs[start : start + 100])
    with sessions() as session:
        ids = list(
            session.execute(
                select(InboundRecord.id)
                .where(InboundRecord.status == "pending")
                .order_by(InboundRecord.id)
            ).scalars()
        )
    source = RulesSource(settings.rules_file)
    loaded = source.snapshot()
    classifier = classifier_for(loaded, None)
    senders = build_senders(SenderResources(settings=settings, mail=mail_transport(settings)))
    then = RouteInline(settings, loaded.rules, classifier, senders)
    # Warm up (imports, model load, statement caches) outside the clock.
    for inbound_id in ids[:20]:
        with unit_of_work(sessions) as session:
            process_inbound(session, inbound_id, settings, then)
    ids = ids[20:]

    statements: list[int] = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        statements[0] += 1

    per_kind: dict[str, list[int]] = {}
    profiler = cProfile.Profile() if args.profile else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    for inbound_id in ids:
        before = statements[0]
        with unit_of_work(sessions) as session:
            outcome = process_inbound(session, inbound_id, settings, then)
        kind = outcome.status
        if outcome.message_id is not None:
            with sessions() as session:
                signal_name = session.get(Message, outcome.message_id)
                kind = signal_name.thread_signal if signal_name is not None else kind
            statements[0] -= 1  # the look-up above is the bench's, not the worker's
        per_kind.setdefault(str(kind), []).append(statements[0] - before)
    if profiler is not None:
        profiler.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    n = len(ids)
    print(f"nproc={os.cpu_count()} load={os.getloadavg()[0]:.2f} records={n} store={url[:40]}")
    print(f"records/s {n / wall:.1f}  cpu ms/record {cpu * 1000 / n:.2f}")
    for kind, counts in sorted(per_kind.items()):
        print(f"  {kind:<14} {len(counts):>5} records, {sum(counts) / len(counts):.1f} statements")
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.dump_stats(str(work / "profile.pstats"))
        print(f"profile written to {work / 'profile.pstats'}")
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
