"""The shipped default rules: support language in English and German, priorities, routes.

Decided with no model, so each test pins what the rules themselves do.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.rules import default_rules
from router.engine import decide
from router.types import Decision, TicketFacts


def decided(subject: str, body: str, language: str = "en") -> Decision:
    facts = TicketFacts(
        number=1,
        channel="email",
        subject=subject,
        body=body,
        sender_email="customer@example.com",
        language=language,
        received_at=datetime(2026, 12, 1, 10, tzinfo=UTC),
    )
    return decide(facts, default_rules())


def reasons(decision: Decision) -> str:
    return "\n".join(f"{e.stage} {e.rule} {e.matched} {e.reason}" for e in decision.trace)


@pytest.mark.parametrize(
    ("subject", "body", "language"),
    [
        ("Dashboard", "The dashboard is not loading for all users, we get a 502.", "en"),
        ("Outage?", "Is there an outage? Nothing works.", "en"),
        ("Help", "The app is down for everyone in our office.", "en"),
        ("Ausfall", "Die Plattform ist für alle Benutzer nicht erreichbar.", "de"),
        ("Störung", "Das System ist ausgefallen, niemand kann arbeiten.", "de"),
    ],
)
def test_an_outage_for_everyone_is_technical_and_critical(
    subject: str, body: str, language: str
) -> None:
    # Given a mail saying something is down for many people
    # When it is decided by the default rules
    decision = decided(subject, body, language)
    # Then it is a critical technical ticket for the technical team, and the trace says why
    assert (decision.category, decision.priority, decision.team) == (
        "technical",
        "critical",
        "technical",
    )
    assert "urgency cue" in reasons(decision)


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("We have data loss after the import.", "en"),
        ("Nach dem Update haben wir einen Datenverlust.", "de"),
    ],
)
def test_data_loss_is_critical(body: str, language: str) -> None:
    decision = decided("Problem", body, language)
    assert decision.priority == "critical"


@pytest.mark.parametrize(
    ("subject", "body", "language"),
    [
        ("Charged twice", "I was charged twice for this month, please fix it.", "en"),
        ("Card", "There is a double charge on my card.", "en"),
        ("Abbuchung", "Mir wurde der Beitrag doppelt abgebucht.", "de"),
        ("Kreditkarte", "Sie haben meine Kreditkarte zweimal belastet.", "de"),
    ],
)
def test_a_double_charge_is_billing_and_high(subject: str, body: str, language: str) -> None:
    decision = decided(subject, body, language)
    assert (decision.category, decision.priority, decision.team) == ("billing", "high", "billing")


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("I'm locked out of my account.", "en"),
        ("I can't log in since yesterday.", "en"),
        ("Ich bin aus meinem Konto ausgesperrt.", "de"),
        ("Ich kann mich nicht anmelden.", "de"),
    ],
)
def test_being_locked_out_is_account_and_high(body: str, language: str) -> None:
    decision = decided("Access", body, language)
    assert (decision.category, decision.priority, decision.team) == ("account", "high", "account")


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("I think our account was hacked.", "en"),
        ("We had a security breach: someone logged into our admin.", "en"),
        ("Unser Konto wurde gehackt.", "de"),
    ],
)
def test_a_taken_over_account_is_account_and_critical(body: str, language: str) -> None:
    decision = decided("Security", body, language)
    assert (decision.category, decision.priority) == ("account", "critical")


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("This is the third time I write. Unacceptable, I'm cancelling.", "en"),
        ("Please cancel my subscription, this is a joke.", "en"),
        ("Ich schreibe zum dritten Mal. Das ist eine Frechheit, ich kündige.", "de"),
        ("Das ist inakzeptabel, ich warte immer noch auf eine Antwort.", "de"),
    ],
)
def test_an_angry_repeated_complaint_is_complaint_and_high(body: str, language: str) -> None:
    decision = decided("Again", body, language)
    assert decision.category == "complaint"
    assert decision.priority in ("high", "critical")
    assert decision.team == "complaint"


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("I would like to make a formal complaint about the delays.", "en"),
        ("Ich möchte mich über Ihre Hotline beschweren.", "de"),
    ],
)
def test_a_plain_complaint_is_complaint_and_medium(body: str, language: str) -> None:
    decision = decided("Complaint", body, language)
    assert (decision.category, decision.priority) == ("complaint", "medium")


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("It would be great if we could export to PDF.", "en"),
        ("Please add a dark mode.", "en"),
        ("Feature request: tags on projects.", "en"),
        ("Es wäre toll, wenn man Berichte als PDF verschicken könnte.", "de"),
        ("Bitte fügen Sie einen Dunkelmodus hinzu.", "de"),
    ],
)
def test_a_feature_request_is_feature_request_and_low(body: str, language: str) -> None:
    decision = decided("Idea", body, language)
    assert (decision.category, decision.priority, decision.team) == (
        "feature_request",
        "low",
        "feature_request",
    )


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("Could you send me the invoice for October?", "en"),
        ("Können Sie mir bitte die Rechnung für Februar senden?", "de"),
    ],
)
def test_a_billing_question_is_billing_and_medium(body: str, language: str) -> None:
    decision = decided("Invoice", body, language)
    assert (decision.category, decision.priority) == ("billing", "medium")


def test_a_how_to_question_no_rule_knows_goes_to_general_and_is_not_urgent() -> None:
    # Given a how-to question with no cue (and no model)
    decision = decided("Question", "How do I create a recurring task?")
    # Then it is general, low, and routed to the general team by the default route
    assert (decision.category, decision.priority, decision.team) == ("general", "low", "general")


def test_every_category_routes_to_the_team_of_the_same_name() -> None:
    # Given the default rules
    rules = default_rules()
    # Then each category but general has a route to its own team, and general is the default
    teams = {route.when.category[0]: route.team for route in rules.routes if route.when.category}
    assert teams == {category: category for category in rules.categories if category != "general"}
    assert rules.routes[-1].team == "general"
