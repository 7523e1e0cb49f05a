"""The customer's tier, from the ``tiers:`` lists (and the legacy ``prioritize.vip``)."""

from __future__ import annotations

from collections.abc import Mapping

from config.rules import Vip
from config.tiers import Tier
from router.rules.sender_domain import domain_in
from router.types import TicketFacts, TraceEntry

STAGE = "tier"


def customer_tier(
    facts: TicketFacts, tiers: Mapping[str, Tier], vip: Vip
) -> tuple[str | None, TraceEntry]:
    """The first tier listing the sender or their domain; ``vip`` also from the vip list."""
    sender = facts.sender_email.strip().lower()
    domain = facts.sender_domain
    candidates = dict(tiers)
    if "vip" not in candidates and (vip.senders or vip.domains):
        candidates["vip"] = Tier(senders=vip.senders, domains=vip.domains)
    for name, tier in candidates.items():
        if sender in tier.senders:
            return name, TraceEntry(STAGE, name, True, f"sender {sender} is listed")
        listed = domain_in(domain, tier.domains)
        if listed is not None:
            return name, TraceEntry(STAGE, name, True, f"sender domain {domain} in {listed}")
    return None, TraceEntry(STAGE, "none", False, "sender is in no tier")
