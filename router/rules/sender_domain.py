"""The sender's domain, or a parent of it, is one of a list."""

from __future__ import annotations

from collections.abc import Iterable

from config.rules import When
from router.rules.base import Context, Hit, Miss, listed


def domain_in(domain: str, domains: Iterable[str]) -> str | None:
    """The listed domain that ``domain`` equals or is a subdomain of, if any."""
    for listed_domain in domains:
        if domain == listed_domain or domain.endswith("." + listed_domain):
            return listed_domain
    return None


class SenderDomainCondition:
    """``sender_domain: [example.com]``: matches example.com and mail.example.com."""

    name = "sender-domain"
    description = "the sender's domain is listed, subdomains included"

    def applies(self, when: When) -> bool:
        return when.sender_domain is not None

    def check(self, when: When, ctx: Context) -> Hit | Miss:
        domain = ctx.facts.sender_domain
        if domain_in(domain, when.sender_domain or ()):
            return Hit(f"sender domain {domain} is listed")
        return Miss(f"sender domain {domain} not in {listed(when.sender_domain or ())}")
