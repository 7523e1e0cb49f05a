"""Specifications of the rules engine: category, priority, route and trace."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from config.rules import RuleSet, When, load_rules, load_rules_text
from router.engine import decide
from router.rules import CONDITIONS
from router.rules.base import MAX_TEXT_CHARS
from router.types import Decision, TicketFacts, TraceEntry

EXAMPLE = Path(__file__).parents[1] / "fixtures" / "rules" / "example.yaml"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(EXAMPLE)


def ticket(**changes: Any) -> TicketFacts:
    base = TicketFacts(
        number=10342,
        channel="email",
        subject="Question",
        body="Hello, I have a question about my workspace.",
        sender_email="jane@customer.example",
        recipient="support@example.com",
    )
    return dataclasses.replace(base, **changes)


def entries(decision: Decision, stage: str) -> dict[str, TraceEntry]:
    return {entry.rule: entry for entry in decision.trace if entry.stage == stage}


# Category


def test_keyword_in_subject_sets_category(rules: RuleSet) -> None:
    # Given a subject that mentions a refund
    facts = ticket(subject="Refund for last month")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then it is a billing ticket, and the trace says which keyword and where
    assert decision.category == "billing"
    assert entries(decision, "category")["billing-keywords"].reason == (
        "keyword 'refund' in subject"
    )


def test_keyword_matches_whole_words_only(rules: RuleSet) -> None:
    # Given a body where "refund" only appears inside another word
    facts = ticket(body="Our prefunding round closed.")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then no keyword rule matches
    assert decision.category == "general"


def test_keyword_phrase_matches_across_case_and_whitespace(rules: RuleSet) -> None:
    # Given a phrase split over a line break and in capitals
    facts = ticket(body="I was CHARGED\n  twice for March.")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the phrase keyword matches
    assert decision.category == "billing"
    assert "'charged twice' in body" in entries(decision, "category")["billing-keywords"].reason


def test_regex_in_subject_sets_category(rules: RuleSet) -> None:
    # Given an invoice number in the subject
    facts = ticket(subject="About INV-20931")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the regex rule categorizes it
    assert decision.category == "billing"
    assert entries(decision, "category")["invoice-number"].matched


def test_regex_limited_to_subject_ignores_body(rules: RuleSet) -> None:
    # Given an invoice number only in the body, for a rule that looks at subjects
    facts = ticket(body="See INV-20931 attached")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the regex rule does not match
    assert entries(decision, "category")["invoice-number"].reason == "no regex matched in subject"


def test_sender_address_sets_category(rules: RuleSet) -> None:
    # Given a message from a listed address, written in another case
    facts = ticket(sender_email="Ops@Partner.example")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the sender rule categorizes it
    assert decision.category == "technical"
    assert entries(decision, "category")["partner-sender"].matched


def test_sender_domain_includes_subdomains(rules: RuleSet) -> None:
    # Given a message from a subdomain of a listed domain
    facts = ticket(sender_email="counsel@mail.lawfirm.example")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the domain rule categorizes it
    assert decision.category == "complaint"


def test_channel_sets_category(rules: RuleSet) -> None:
    # Given a message that came in by SMS
    facts = ticket(channel="sms", subject="", recipient="+15550100")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the channel rule categorizes it
    assert decision.category == "account"
    assert entries(decision, "category")["sms-channel"].reason == "channel sms"


def test_recipient_sets_category(rules: RuleSet) -> None:
    # Given a message sent to the ideas inbox
    facts = ticket(recipient="IDEAS@example.com")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the recipient rule categorizes it
    assert decision.category == "feature_request"


def test_attachments_set_category(rules: RuleSet) -> None:
    # Given a message with attachments and no other signal
    facts = ticket(has_attachments=True)
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the attachments rule categorizes it
    assert decision.category == "technical"
    assert entries(decision, "category")["screenshots"].reason == "message has attachments"


def test_automated_message_is_system(rules: RuleSet) -> None:
    # Given an automated message that also mentions a refund
    facts = ticket(is_automated=True, subject="Refund processed")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the earlier automated rule wins: the first match decides
    assert decision.category == "system"
    assert entries(decision, "category")["billing-keywords"].reason == (
        "not evaluated: 'automated-message' matched first"
    )


def test_no_matching_rule_gives_default_category(rules: RuleSet) -> None:
    # Given a message with no signal
    facts = ticket()
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the default category applies and the trace says so
    assert decision.category == "general"
    assert entries(decision, "decision")["category"].reason == (
        "general, the default: no rule matched"
    )


def test_text_past_the_bound_is_not_matched(rules: RuleSet) -> None:
    # Given a keyword that only appears after the first 64 KiB of the body
    facts = ticket(body="x " * MAX_TEXT_CHARS + "refund")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then it is not seen
    assert decision.category == "general"


# Priority


def test_default_priority_is_medium(rules: RuleSet) -> None:
    # Given a calm message from an ordinary sender
    facts = ticket()
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the priority is the default
    assert decision.priority == "medium"


def test_urgency_keyword_raises_priority(rules: RuleSet) -> None:
    # Given a customer who is locked out
    facts = ticket(body="I am locked out of my account")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the priority is high, from the urgency rule
    assert decision.priority == "high"
    assert entries(decision, "decision")["priority"].reason == "high, from rule 'high-urgency'"


def test_most_urgent_matching_priority_rule_wins(rules: RuleSet) -> None:
    # Given a message that matches both a high and a critical rule
    facts = ticket(subject="Site down", body="Full outage since 9:00")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the critical rule wins and both hits are in the trace
    assert decision.priority == "critical"
    priority = entries(decision, "priority")
    assert priority["critical-urgency"].matched
    assert priority["high-urgency"].matched


def test_vip_domain_raises_priority_and_is_traced(rules: RuleSet) -> None:
    # Given a calm message from a VIP domain
    facts = ticket(sender_email="anna@bigcorp.com")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the priority is raised to the VIP level and the trace says why
    assert decision.priority == "high"
    assert entries(decision, "priority")["vip-sender"] == TraceEntry(
        "priority", "vip-sender", True, "sender domain bigcorp.com is VIP: priority raised to high"
    )


def test_vip_sender_address_raises_priority(rules: RuleSet) -> None:
    # Given a message from a VIP address at an ordinary domain
    facts = ticket(sender_email="ceo@smallco.example")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the priority is raised
    assert decision.priority == "high"


def test_vip_never_lowers_priority(rules: RuleSet) -> None:
    # Given a critical message from a VIP domain whose VIP level is high
    facts = ticket(sender_email="anna@bigcorp.com", body="We have data loss")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then it stays critical
    assert decision.priority == "critical"
    assert entries(decision, "priority")["vip-sender"].reason.endswith("priority already critical")


# Routes


def test_first_matching_route_sets_team_and_destinations(rules: RuleSet) -> None:
    # Given a billing ticket that is also urgent, which two routes would take
    facts = ticket(subject="Charged twice", body="Please refund")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the first matching route decides
    assert (decision.team, decision.destinations) == (
        "billing-urgent",
        ("billing-desk", "helpdesk"),
    )
    assert entries(decision, "route")["billing"].reason == (
        "not evaluated: 'urgent-billing' matched first"
    )


def test_later_route_matches_when_earlier_ones_miss(rules: RuleSet) -> None:
    # Given a billing ticket that is not urgent
    facts = ticket(subject="Invoice copy")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the plain billing route takes it, and the miss of the first is explained
    assert (decision.team, decision.destinations) == ("billing", ("billing-desk",))
    assert entries(decision, "route")["urgent-billing"].reason == (
        "priority medium not in high, critical"
    )


def test_default_route_takes_unmatched_tickets(rules: RuleSet) -> None:
    # Given a general ticket
    facts = ticket()
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the default route sends it to support and the helpdesk webhook
    assert (decision.team, decision.destinations) == ("support", ("helpdesk",))
    assert entries(decision, "route")["default"].reason == "no conditions"


# Trace


def test_trace_records_hits_and_misses_of_every_stage(rules: RuleSet) -> None:
    # Given an ordinary refund request
    facts = ticket(body="Can I get a refund?")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then each stage lists the rules it considered, matched or not, with reasons
    category = entries(decision, "category")
    assert category["automated-message"] == TraceEntry(
        "category", "automated-message", False, "message is not automated"
    )
    assert category["billing-keywords"].matched
    assert entries(decision, "priority")["critical-urgency"].reason == (
        "no keyword matched in subject or body"
    )
    assert entries(decision, "priority")["vip-sender"].matched is False
    assert list(entries(decision, "route")) == ["urgent-billing", "billing", "default"]


def test_trace_records_final_values(rules: RuleSet) -> None:
    # Given an ordinary refund request
    facts = ticket(body="Can I get a refund?")
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the last entries give the final values and where they came from
    assert [e.reason for e in decision.trace if e.stage == "decision"] == [
        "billing, from rule 'billing-keywords'",
        "medium, the default: no rule matched",
        "team billing, billing-desk, route 'billing'",
    ]


def test_decision_records_rules_version(rules: RuleSet) -> None:
    # Given any ticket
    facts = ticket()
    # When the ticket is decided
    decision = decide(facts, rules)
    # Then the decision names the rules that produced it
    assert decision.rules_version == rules.version


def test_rule_with_several_conditions_needs_all_of_them() -> None:
    # Given a rule that needs both the slack channel and a keyword
    rules = load_rules_text(
        """
        categorize:
          rules:
            - name: slack-bugs
              when: {channel: slack, keywords: [bug]}
              category: technical
        routes:
          - {name: default, team: support}
        """
    )
    # When an email mentions a bug, and a Slack message mentions a bug
    by_email = decide(ticket(body="found a bug"), rules)
    by_slack = decide(ticket(channel="slack", body="found a bug"), rules)
    # Then only the Slack message matches, and both reasons are recorded
    assert by_email.category == "general"
    assert entries(by_slack, "category")["slack-bugs"].reason == (
        "channel slack and keyword 'bug' in body"
    )


def test_every_when_key_has_a_registered_condition() -> None:
    # Given every condition key a rule may use
    keys = set(When.model_fields) - {"fields"}
    # When each is set alone
    covered = {
        key
        for key in keys
        for condition in CONDITIONS
        if condition.applies(When.model_validate({key: _sample(key)}))
    }
    # Then some registered condition evaluates it
    assert covered == keys


def _sample(key: str) -> object:
    """A value the key accepts: a flag, a count, a name or a list of names."""
    for candidate in (True, 2, "x", ["x"]):
        try:
            When.model_validate({key: candidate})
        except ValueError:
            continue
        return candidate
    raise AssertionError(f"no sample value for {key}")


def test_trace_as_json_has_every_field_of_the_entry() -> None:
    entry = TraceEntry("category", "billing", True, "subject has 'invoice'")
    assert entry.as_json() == dataclasses.asdict(entry)
