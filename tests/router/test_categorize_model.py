"""Rules first, then the model when it is confident enough, else the fallback; all traced."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from config.errors import RulesFileError
from config.rules import RuleSet, load_rules_text
from router.classifier.types import LabelScore, Prediction
from router.engine import decide
from router.types import Decision, TicketFacts, TraceEntry
from tests.classifier_support import trained_model

RULES = """
format: 1
categorize:
  default: general
  classifier: {model: models/categories.skops, threshold: 0.6, fallback: %(fallback)s}
  rules:
    - name: billing-keywords
      when: {keywords: [invoice]}
      category: billing
routes:
  - name: default
    team: support
"""


def rules(fallback: str = "complaint", classifier: bool = True) -> RuleSet:
    text = RULES % {"fallback": fallback}
    if not classifier:
        text = "\n".join(line for line in text.splitlines() if "classifier:" not in line)
    return load_rules_text(text)


def ticket(**changes: Any) -> TicketFacts:
    base = TicketFacts(
        number=7,
        channel="email",
        subject="Question",
        body="Hello, something about my workspace.",
        sender_email="jane@customer.example",
    )
    return dataclasses.replace(base, **changes)


class FixedModel:
    """A model that always gives the same prediction and remembers what it read."""

    def __init__(self, label: str, confidence: float) -> None:
        rest = (1.0 - confidence) / 2
        self.prediction = Prediction(
            label,
            confidence,
            (LabelScore(label, confidence), LabelScore("account", rest), LabelScore("x", rest)),
            model="abc123def456",
        )
        self.read: list[tuple[str, str]] = []

    def predict(self, subject: str, body: str) -> Prediction:
        self.read.append((subject, body))
        return self.prediction


def model_entry(decision: Decision) -> TraceEntry:
    [found] = [e for e in decision.trace if e.stage == "category" and e.rule == "category-model"]
    return found


def final_category(decision: Decision) -> TraceEntry:
    [found] = [e for e in decision.trace if e.stage == "decision" and e.rule == "category"]
    return found


def test_a_matching_rule_beats_the_model() -> None:
    # Given a ticket an explicit rule categorizes, and a confident model that disagrees
    model = FixedModel("technical", 0.99)
    # When it is decided
    decision = decide(ticket(subject="Your invoice"), rules(), classifier=model)
    # Then the rule's category stands, the source is the rule, and the model was not asked
    assert decision.category == "billing"
    assert decision.category_source == "rule"
    assert model.read == []
    assert not [e for e in decision.trace if e.rule == "category-model"]


def test_a_confident_model_decides_when_no_rule_matched() -> None:
    # Given a ticket no rule categorizes, and a model sure at 0.83
    model = FixedModel("technical", 0.83)
    # When it is decided
    decision = decide(
        ticket(subject="It crashes", body="Error 500 on save"), rules(), classifier=model
    )
    # Then the model's label is the category, from the model, after reading subject and body
    assert decision.category == "technical"
    assert decision.category_source == "model"
    assert model.read == [("It crashes", "Error 500 on save")]


def test_the_trace_shows_the_model_label_confidence_and_threshold() -> None:
    # Given a model sure at 0.83
    decision = decide(ticket(), rules(), classifier=FixedModel("technical", 0.83))
    # When the trace is read
    entry = model_entry(decision)
    # Then it names the model, its label and confidence, the threshold and the runners-up
    assert entry.matched
    assert entry.reason == (
        "model abc123def456 says technical at 0.830 >= threshold 0.6 (then account 0.085, x 0.085)"
    )
    assert final_category(decision).reason == "technical, from the model (technical 0.830 >= 0.6)"


def test_a_model_below_the_threshold_gives_the_fallback() -> None:
    # Given a model only 0.41 sure, and the fallback "complaint"
    decision = decide(ticket(), rules(fallback="complaint"), classifier=FixedModel("billing", 0.41))
    # When it is decided
    # Then the fallback is the category, and the trace says the model was unsure
    assert decision.category == "complaint"
    assert decision.category_source == "fallback"
    entry = model_entry(decision)
    assert not entry.matched
    assert entry.reason.startswith("model abc123def456 says billing at 0.410 < threshold 0.6")
    assert entry.reason.endswith("; fallback complaint")
    assert "the model was unsure (billing 0.410 < 0.6)" in final_category(decision).reason


def test_exactly_at_the_threshold_the_model_decides() -> None:
    # Given a model exactly as sure as the threshold
    decision = decide(ticket(), rules(), classifier=FixedModel("account", 0.6))
    # Then it decides ("at or above")
    assert (decision.category, decision.category_source) == ("account", "model")


def test_without_a_fallback_an_unsure_model_gives_the_stage_default() -> None:
    # Given a classifier configured without a fallback
    ruleset = load_rules_text(RULES.replace(", fallback: %(fallback)s", ""))
    # When an unsure model answers
    decision = decide(ticket(), ruleset, classifier=FixedModel("billing", 0.2))
    # Then the stage's default applies
    assert (decision.category, decision.category_source) == ("general", "default")
    assert model_entry(decision).reason.endswith("; default general")


def test_a_configured_but_unloaded_model_gives_the_fallback() -> None:
    # Given rules that name a model, decided with none loaded
    decision = decide(ticket(), rules(fallback="complaint"), classifier=None)
    # Then the fallback applies, and the trace says why
    assert (decision.category, decision.category_source) == ("complaint", "fallback")
    assert model_entry(decision).reason == "no model loaded; fallback complaint"


def test_without_a_classifier_configured_the_loaded_model_decides_at_the_default_threshold() -> (
    None
):
    # Given rules without categorize.classifier, and the model the shell loaded for them
    sure, unsure = FixedModel("technical", 0.61), FixedModel("technical", 0.59)
    # When tickets are decided with a sure and an unsure answer
    decided = decide(ticket(), rules(classifier=False), classifier=sure)
    fell_back = decide(ticket(), rules(classifier=False), classifier=unsure)
    # Then the model decides at or above the default threshold, else the default applies
    assert (decided.category, decided.category_source) == ("technical", "model")
    assert (fell_back.category, fell_back.category_source) == ("general", "default")
    assert model_entry(fell_back).reason.endswith("; default general")
    assert "< threshold 0.6" in model_entry(fell_back).reason


def test_without_a_classifier_and_no_model_loaded_the_default_applies_untraced() -> None:
    # Given rules without categorize.classifier, and no model loaded for them
    decision = decide(ticket(), rules(classifier=False), classifier=None)
    # Then the default applies, and the trace has no model entry
    assert (decision.category, decision.category_source) == ("general", "default")
    assert not [e for e in decision.trace if e.rule == "category-model"]


def test_the_trained_model_categorizes_through_the_engine() -> None:
    # Given the model trained on the dev data set, and a ticket no rule matches
    facts = ticket(
        subject="Card declined",
        body="My card keeps getting declined at the shop, what is wrong with it?",
    )
    # When it is decided
    decision = decide(facts, rules(), classifier=trained_model())
    # Then the model categorizes it, and the trace carries the real model's version
    assert (decision.category, decision.category_source) == ("technical", "model")
    assert model_entry(decision).reason.startswith(f"model {trained_model().version}")


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("{model: m.skops, fallback: refunds}", "classifier.fallback: unknown category 'refunds'"),
        ("{model: m.skops, threshold: 1.5}", "classifier.threshold: Input should be less than"),
        ("{model: '', threshold: 0.5}", "classifier.model: String should have at least 1"),
        ("{threshold: 0.5}", "classifier.model: missing required key"),
        ("{model: m.skops, color: red}", "classifier.color: unknown key"),
    ],
)
def test_a_bad_classifier_block_is_a_rules_error(block: str, message: str) -> None:
    # Given a classifier block with a mistake
    text = RULES.replace(
        "{model: models/categories.skops, threshold: 0.6, fallback: %(fallback)s}", block
    )
    # When the rules are loaded
    # Then the error names the key and its line
    with pytest.raises(RulesFileError, match=message) as caught:
        load_rules_text(text)
    assert caught.value.line == 5


def test_model_none_turns_the_model_off_and_the_fallback_applies() -> None:
    # Given rules that say model: none, and a model passed anyway
    text = RULES.replace("model: models/categories.skops", "model: none")
    ruleset = load_rules_text(text % {"fallback": "complaint"})
    model = FixedModel("technical", 0.99)
    # When a ticket no rule matches is decided
    decision = decide(ticket(), ruleset, classifier=model)
    # Then the model is not asked and the fallback applies
    assert (decision.category, decision.category_source) == ("complaint", "fallback")
    assert model.read == []
