"""VIP senders and domains: their tickets get at least the configured priority."""

from __future__ import annotations

from config.rules import Vip
from router.rules.base import Context, Hit, Miss
from router.rules.sender_domain import domain_in


def check_vip(vip: Vip, ctx: Context) -> Hit | Miss:
    """Hit when the sender's address or domain is on the VIP list."""
    if not (vip.senders or vip.domains):
        return Miss("no VIP senders or domains configured")
    sender = ctx.facts.sender_email.strip().lower()
    if sender in vip.senders:
        return Hit(f"sender {sender} is VIP")
    domain = ctx.facts.sender_domain
    if domain_in(domain, vip.domains):
        return Hit(f"sender domain {domain} is VIP")
    return Miss(f"sender {sender} is not VIP")
