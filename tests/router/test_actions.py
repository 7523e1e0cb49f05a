"""Specifications of rule actions and match modes: tags, stop, all-match, tiers, conditions."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from config.errors import RulesFileError
from config.rules import load_rules_text
from router.engine import decide
from router.types import TicketFacts

ALL_MATCH = """
format: 1
tiers:
  vip: {domains: [bigcorp.com]}
destinations:
  desk: {type: webhook, url: "http://127.0.0.1:9/a", secret_env: X}
  finance: {type: webhook, url: "http://127.0.0.1:9/b", secret_env: X}
  vip-desk: {type: webhook, url: "http://127.0.0.1:9/c", secret_env: X}
categorize:
  match: all
  default: general
  rules:
    - name: billing-words
      when: {keywords: [invoice]}
      category: billing
      tags: [money]
    - name: angry-billing
      when: {keywords: [refund]}
      category: complaint
      tags: [refund]
    - name: german
      when: {language: de}
      tags: [german]
      stop: true
    - name: never-after-stop
      when: {keywords: [invoice]}
      tags: [unreachable]
route_match: all
routes:
  - name: default
    team: support
    destinations: [desk]
  - name: billing
    when: {category: [billing, complaint]}
    team: billing
    destinations: [finance]
  - name: vip
    when: {tier: vip}
    destinations: [vip-desk]
    tags: [vip]
  - name: repeat
    when: {contacts_at_least: 3}
    tags: [repeat-contact]
  - name: imap-billing
    when: {mailbox: billing-box}
    team: billing-mailbox
"""


def ticket(**changes: Any) -> TicketFacts:
    base = TicketFacts(
        number=1,
        channel="email",
        subject="Question",
        body="Hello.",
        sender_email="jane@customer.example",
    )
    return dataclasses.replace(base, **changes)


def test_all_match_applies_every_matching_rule_in_order() -> None:
    # Given all-match categorize rules where two match
    rules = load_rules_text(ALL_MATCH)
    # When a message mentions an invoice and a refund
    decision = decide(ticket(body="Invoice wrong, I want a refund"), rules)
    # Then the later rule's category wins and both rules' tags are kept
    assert decision.category == "complaint"
    assert decision.tags[:2] == ("money", "refund")


def test_stop_ends_an_all_match_stage() -> None:
    # Given a German message mentioning an invoice
    rules = load_rules_text(ALL_MATCH)
    decision = decide(ticket(body="Rechnung invoice", language="de"), rules)
    # Then the rule after `stop` is not evaluated, and the trace says why
    assert "unreachable" not in decision.tags
    skipped = {e.rule: e.reason for e in decision.trace if e.stage == "category"}
    assert skipped["never-after-stop"] == "not evaluated: 'german' said stop"


def test_all_match_routes_add_destinations_and_replace_the_team() -> None:
    # Given a VIP billing ticket
    rules = load_rules_text(ALL_MATCH)
    decision = decide(ticket(body="invoice", sender_email="cfo@bigcorp.com"), rules)
    # Then default sets the baseline, billing replaces the team, vip adds a destination
    assert decision.team == "billing"
    assert decision.destinations == ("desk", "finance", "vip-desk")
    assert "vip" in decision.tags


def test_contacts_and_mailbox_conditions() -> None:
    # Given a customer writing for the fourth time to the billing mailbox
    rules = load_rules_text(ALL_MATCH)
    decision = decide(ticket(recent_contacts=4, mailbox="billing-box"), rules)
    # Then both routes apply
    assert "repeat-contact" in decision.tags
    assert decision.team == "billing-mailbox"


def test_language_condition_misses_when_language_is_unknown() -> None:
    # Given a message whose language could not be told
    rules = load_rules_text(ALL_MATCH)
    decision = decide(ticket(language=None), rules)
    # Then the language rule misses with a reason
    reasons = {e.rule: e.reason for e in decision.trace if e.stage == "category"}
    assert reasons["german"] == "language unknown (text too short or unclear)"


def test_tier_is_decided_first_and_traced() -> None:
    # Given a sender from a tier domain
    rules = load_rules_text(ALL_MATCH)
    decision = decide(ticket(sender_email="a@bigcorp.com"), rules)
    # Then the trace starts with the tier and why
    first = decision.trace[0]
    assert (first.stage, first.rule, first.reason) == (
        "tier",
        "vip",
        "sender domain bigcorp.com in bigcorp.com",
    )


def test_all_match_routes_need_default_first() -> None:
    # Given all-match routes whose default is last
    text = (
        ALL_MATCH.replace("route_match: all", "route_match: all\n").replace(
            "  - name: default\n    team: support\n    destinations: [desk]\n", ""
        )
        + "  - name: default\n    team: support\n"
    )
    # When loaded
    with pytest.raises(RulesFileError) as error:
        load_rules_text(text)
    # Then the error names the first route
    assert "the first route must be named default" in str(error.value)


def test_unknown_tier_in_a_condition_is_an_error_with_its_line() -> None:
    # Given a rule naming a tier that is not declared
    text = ALL_MATCH.replace("when: {tier: vip}", "when: {tier: gold}")
    # When loaded
    with pytest.raises(RulesFileError) as error:
        load_rules_text(text)
    # Then it names the tier and the line
    assert "unknown tier 'gold'" in str(error.value)
    assert error.value.line == text.splitlines().index("    when: {tier: gold}") + 1


def test_rule_score_needs_score_mode() -> None:
    # Given a score on a rule in highest mode
    text = """
format: 1
prioritize:
  rules:
    - name: x
      score: 10
routes:
  - name: default
    team: support
"""
    # When loaded
    with pytest.raises(RulesFileError) as error:
        load_rules_text(text)
    # Then the problem is explained
    assert "score: needs prioritize.match: score" in str(error.value)
