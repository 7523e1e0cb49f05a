"""Customer tiers in the rules YAML: who counts as ``vip``, ``enterprise``, and so on.

Tiers are listed in order of precedence; the first tier whose senders or domains
match the sender is the customer's tier. Rules, priority weights, SLA targets and
assignment can all refer to a tier by name.
"""

from __future__ import annotations

from config.rule_fields import Strict, WordList


class Tier(Strict):
    """Senders (exact addresses) and domains (subdomains included) in one tier."""

    senders: WordList = ()
    domains: WordList = ()
