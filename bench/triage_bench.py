"""Triage throughput: tickets per second through categorize, prioritize and route.

What is compared, over the same tickets in the same run, alternating each round:
    (a) baseline: a trivial rule set (no category or priority rules, one default route);
    (b) omniroute with 200 rules: 100 category rules (keywords, regexes, sender domains,
        channels, tiers), 50 priority rules with scores plus every scoring signal
        (urgency cues, VADER sentiment, anger, tier, channel, repeated contact) and 50
        routes (category, priority, tier, language, keywords);
    (c) the same 200 rules in ``match: highest`` mode, without the scoring signals, to
        show what the signals cost.
Tickets are the texts of the dev data set (tests/fixtures/tickets/*.csv), repeated to
``--tickets``, with varied senders, channels and languages. Printed: tickets/second per
round, the medians, and the ratios b/a and c/a.

Run from the repository root:
    .venv/bin/python bench/triage_bench.py [--tickets N] [--rounds R]
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.rules import RuleSet, load_rules_text
from router.engine import decide
from router.types import TicketFacts

DATA = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tickets"
WORDS = [
    "refund",
    "invoice",
    "payment",
    "card",
    "charge",
    "receipt",
    "subscription",
    "plan",
    "price",
    "discount",
    "coupon",
    "password",
    "login",
    "account",
    "email",
    "username",
    "profile",
    "verify",
    "locked",
    "reset",
    "delete",
    "signup",
    "error",
    "crash",
    "bug",
    "broken",
    "slow",
    "timeout",
    "outage",
    "api",
    "export",
    "import",
    "sync",
    "upload",
    "download",
    "feature",
    "idea",
    "suggestion",
    "roadmap",
    "wish",
    "improve",
    "add",
    "support",
    "integration",
    "webhook",
    "delivery",
    "shipping",
    "order",
    "track",
    "cancel",
    "return",
    "address",
    "parcel",
    "package",
    "courier",
    "damaged",
    "complaint",
    "unhappy",
    "terrible",
    "manager",
    "disappointed",
    "awful",
    "rude",
    "waiting",
    "never",
    "again",
]
CATEGORIES = ("technical", "billing", "account", "general", "feature_request", "complaint")
DOMAINS = ("bigcorp.com", "midco.example", "smallshop.example", "customer.test")


@dataclass(frozen=True, slots=True)
class Options:
    tickets: int
    rounds: int


def big_rules(mode: str) -> str:
    rng = random.Random(7)
    lines = [
        "format: 1",
        "tiers:",
        "  vip: {domains: [bigcorp.com]}",
        "  enterprise: {domains: [midco.example]}",
        "categorize:",
        "  match: first",
        "  rules:",
    ]
    for i in range(100):
        category = CATEGORIES[i % len(CATEGORIES)]
        kind = i % 5
        if kind == 0:
            when = f"{{regexes: ['\\\\b{rng.choice(WORDS)}\\\\w*\\\\s+\\\\d{{3,}}']}}"
        elif kind == 1:
            when = f"{{sender_domain: [{rng.choice(DOMAINS)}], keywords: [{rng.choice(WORDS)}]}}"
        elif kind == 2:
            when = f"{{channel: [sms, slack], keywords: [{rng.choice(WORDS)}]}}"
        else:
            when = "{keywords: [" + ", ".join(rng.sample(WORDS, 3)) + "]}"
        lines += [f"    - name: cat-{i}", f"      when: {when}", f"      category: {category}"]
    lines += ["prioritize:", f"  match: {mode}", "  rules:"]
    for i in range(50):
        when = "{keywords: [" + ", ".join(rng.sample(WORDS, 2)) + "]}"
        action = f"score: {rng.choice((10, 20, -10))}" if mode == "score" else "priority: high"
        lines += [f"    - name: pri-{i}", f"      when: {when}", f"      {action}"]
    lines += ["routes:"]
    for i in range(49):
        kind = i % 4
        if kind == 0:
            when = f"{{category: {CATEGORIES[i % len(CATEGORIES)]}, priority: [high, critical]}}"
        elif kind == 1:
            when = "{tier: [vip, enterprise], category: " + CATEGORIES[i % 6] + "}"
        elif kind == 2:
            when = "{language: [de, fr], keywords: [" + rng.choice(WORDS) + "]}"
        else:
            when = "{keywords: [" + ", ".join(rng.sample(WORDS, 2)) + "]}"
        lines += [f"  - name: route-{i}", f"    when: {when}", f"    team: team-{i}"]
    lines += ["  - name: default", "    team: support"]
    return "\n".join(lines) + "\n"


TRIVIAL = "format: 1\nroutes:\n  - name: default\n    team: support\n"


def tickets(count: int) -> list[TicketFacts]:
    texts: list[str] = []
    for name in ("train.csv", "test.csv"):
        with (DATA / name).open(encoding="utf-8", newline="") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    rng = random.Random(11)
    out = []
    for n in range(count):
        text = texts[n % len(texts)]
        out.append(
            TicketFacts(
                number=n,
                channel=rng.choice(("email", "email", "sms", "slack", "webform")),
                subject=" ".join(text.split()[:6]),
                body=text,
                sender_email=f"customer{n}@{rng.choice(DOMAINS)}",
                language=rng.choice(("en", "en", "en", "de", "fr")),
                recent_contacts=rng.choice((1, 1, 1, 2, 4)),
            )
        )
    return out


def rate(rules: RuleSet, batch: list[TicketFacts]) -> float:
    started = time.perf_counter()
    for facts in batch:
        decide(facts, rules)
    return len(batch) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    options = Options(tickets=args.tickets, rounds=args.rounds)
    sides: dict[str, RuleSet] = {
        "a trivial rules": load_rules_text(TRIVIAL),
        "b 200 rules, score": load_rules_text(big_rules("score")),
        "c 200 rules, highest": load_rules_text(big_rules("highest")),
    }
    for name, rules in sides.items():
        count = len(rules.categorize.rules) + len(rules.prioritize.rules) + len(rules.routes)
        print(f"{name}: {count} rules")
    batch = tickets(options.tickets)
    for rules in sides.values():  # warm caches (compiled patterns, VADER lexicon)
        rate(rules, batch[:50])
    results: dict[str, list[float]] = {name: [] for name in sides}
    order: list[tuple[str, Callable[[], float]]] = [
        (name, lambda rules=rules: rate(rules, batch)) for name, rules in sides.items()
    ]
    for round_number in range(options.rounds):
        ordered = order if round_number % 2 == 0 else list(reversed(order))
        line = []
        for name, run in ordered:
            value = run()
            results[name].append(value)
            line.append(f"{name.split()[0]}={value:,.0f}/s")
        print(f"round {round_number + 1}: " + "  ".join(line))
    medians = {name: statistics.median(values) for name, values in results.items()}
    base = medians["a trivial rules"]
    for name, value in medians.items():
        print(f"median {name:<22} {value:>10,.0f} tickets/s   ratio to a: {value / base:.3f}")


if __name__ == "__main__":
    main()
