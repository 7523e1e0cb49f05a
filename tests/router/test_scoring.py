"""Specifications of priority by score: each signal's contribution, levels, floors, trace."""

from __future__ import annotations

import dataclasses
from typing import Any

from config.rules import RuleSet, load_rules_text
from router.engine import decide
from router.types import Decision, TicketFacts

SCORED = """
format: 1
tiers:
  vip: {domains: [bigcorp.com]}
  enterprise: {senders: [cto@midco.example]}
prioritize:
  match: score
  scoring:
    levels: {medium: 0, high: 40, critical: 70}
    urgency: {outage: 70, down: 40, charged twice: 40}
    sentiment: 20
    anger: 15
    tiers: {vip: 40, enterprise: 20}
    channels: {sms: 10}
    repeat: {points: 20, contacts: 3}
  rules:
    - name: automated-low
      when: {is_automated: true}
      score: -100
    - name: legal-threat
      when: {keywords: [lawyer, lawsuit]}
      priority: critical
routes:
  - name: default
    team: support
"""


def rules() -> RuleSet:
    return load_rules_text(SCORED)


def ticket(**changes: Any) -> TicketFacts:
    base = TicketFacts(
        number=1,
        channel="email",
        subject="Question",
        body="Hello, how do I export my data?",
        sender_email="jane@customer.example",
    )
    return dataclasses.replace(base, **changes)


def contributions(decision: Decision) -> dict[str, str]:
    return {e.rule: e.reason for e in decision.trace if e.stage == "score"}


def test_a_calm_question_scores_zero_and_is_medium() -> None:
    # Given a neutral question
    # When it is decided
    decision = decide(ticket(), rules())
    # Then no signal contributes and the priority is medium
    assert decision.priority == "medium"
    assert decision.priority_score == 0
    assert contributions(decision) == {"total": "0 points: medium"}


def test_the_strongest_urgency_cue_counts() -> None:
    # Given a message mentioning an outage and something down
    facts = ticket(body="Outage: the dashboard is down for everyone.")
    # When it is decided
    decision = decide(facts, rules())
    # Then the outage cue (70) makes it critical, and the trace names it
    assert decision.priority == "critical"
    assert contributions(decision)["urgency"] == "+70: urgency cue 'outage'"


def test_negative_sentiment_adds_points_in_proportion() -> None:
    # Given a very unhappy message without urgency words
    facts = ticket(body="This is terrible and awful, I hate how bad this horrible product is.")
    # When it is decided
    decision = decide(facts, rules())
    # Then sentiment contributes up to its weight, and says how negative it was
    reason = contributions(decision)["sentiment"]
    assert reason.startswith("+1") and "negative sentiment (compound -0." in reason
    assert decision.priority_score is not None and 10 <= decision.priority_score <= 20


def test_shouting_counts_as_anger() -> None:
    # Given a message in capitals
    facts = ticket(body="WHY DOES NOTHING WORK WHEN I CLICK EXPORT")
    # When it is decided
    decision = decide(facts, rules())
    # Then the anger signal contributes
    assert contributions(decision)["anger"].startswith("+15: shouting")


def test_an_angry_word_counts_as_anger() -> None:
    # Given a message with an angry word
    decision = decide(ticket(body="Frankly this is ridiculous."), rules())
    # Then anger contributes and names the word
    assert contributions(decision)["anger"] == "+15: angry word 'ridiculous'"


def test_vip_tier_raises_the_score() -> None:
    # Given a sender from a VIP domain writing something mildly urgent
    facts = ticket(sender_email="ops@eu.bigcorp.com", body="The report page is down.")
    # When it is decided
    decision = decide(facts, rules())
    # Then the tier adds its weight on top of the urgency cue: critical
    assert contributions(decision)["tier"] == "+40: customer tier vip"
    assert decision.priority == "critical"
    assert decision.tier == "vip"


def test_channel_weight_applies_to_that_channel_only() -> None:
    # Given the same text by SMS and by email
    by_sms = decide(ticket(channel="sms"), rules())
    by_email = decide(ticket(), rules())
    # Then only the SMS gets the channel's points
    assert contributions(by_sms)["channel"] == "+10: channel sms"
    assert "channel" not in contributions(by_email)


def test_repeated_contact_by_phrase_or_by_count() -> None:
    # Given a customer saying it is the second time, and one who wrote four times lately
    by_phrase = decide(ticket(body="This is the second time I ask."), rules())
    by_count = decide(ticket(recent_contacts=4), rules())
    # Then both get the repeat-contact points, each with its reason
    assert contributions(by_phrase)["repeat-contact"] == "+20: says 'second time'"
    assert contributions(by_count)["repeat-contact"] == (
        "+20: 4 messages from this customer lately"
    )


def test_rule_score_can_lower_the_priority() -> None:
    # Given an automated message that mentions an outage
    facts = ticket(is_automated=True, body="Monitoring: outage resolved.")
    # When it is decided
    decision = decide(facts, rules())
    # Then the rule's negative score pulls it down to low
    assert decision.priority == "low"
    assert contributions(decision)["automated-low"] == "-100 from rule 'automated-low'"


def test_rule_priority_is_a_floor_over_the_score() -> None:
    # Given a calm message mentioning a lawyer
    decision = decide(ticket(body="My lawyer will contact you."), rules())
    # Then the rule's priority wins over the low score, and the reason says so
    assert decision.priority == "critical"
    final = {e.rule: e.reason for e in decision.trace if e.stage == "decision"}
    assert "raised by rule 'legal-threat'" in final["priority"]
