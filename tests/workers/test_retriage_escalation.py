"""Triage under new rules keeps what an SLA escalation raised: a missed target stays escalated."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.rules import RuleSet, load_rules_text
from ingest.db import unit_of_work
from ingest.models import DecisionRecord, Ticket
from tests.workers.store_tickets import new_ticket
from workers.sla.sweep import sweep
from workers.triage.decide import triage_ticket

TEAMS_TEXT = (Path(__file__).parents[1] / "fixtures" / "rules" / "teams.yaml").read_text()
BERLIN = ZoneInfo("Europe/Berlin")
WEDNESDAY_10AM = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
WEDNESDAY_3PM = datetime(2026, 11, 25, 15, 0, tzinfo=BERLIN)  # medium's first response missed
THURSDAY_11AM = datetime(2026, 11, 26, 11, 0, tzinfo=BERLIN)  # high's resolution missed too
# Appended to the teams rules: every ticket about a workspace is `priority`.
WORKSPACE_RULE = """
prioritize:
  match: highest
  default: medium
  rules:
    - name: workspace
      when: {{keywords: [workspace]}}
      priority: {priority}
"""


def rules(extra: str = "") -> RuleSet:
    """The teams rules; any ``extra`` text gives a new rules version, as an edit would."""
    return load_rules_text(TEAMS_TEXT + extra, source="teams.yaml")


def triage(sessions: sessionmaker[Session], ticket_id: int, rule_set: RuleSet) -> None:
    with unit_of_work(sessions) as session:
        triage_ticket(session, ticket_id, rule_set, WEDNESDAY_10AM)


def stored(sessions: sessionmaker[Session], ticket_id: int) -> Ticket:
    with sessions() as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None
        return found


def latest_decision(sessions: sessionmaker[Session], ticket_id: int) -> DecisionRecord:
    with sessions() as session:
        return session.execute(
            select(DecisionRecord)
            .where(DecisionRecord.ticket_id == ticket_id)
            .order_by(DecisionRecord.id.desc())
            .limit(1)
        ).scalar_one()


def final_priority_reason(decision: DecisionRecord) -> str:
    (reason,) = [
        r["reason"] for r in decision.trace if (r["stage"], r["rule"]) == ("decision", "priority")
    ]
    return str(reason)


def test_triage_under_new_rules_keeps_the_escalated_priority(
    sessions: sessionmaker[Session],
) -> None:
    # Given a medium ticket the sweep raised to high for its missed first response
    ticket_id = new_ticket(sessions, WEDNESDAY_10AM)
    triage(sessions, ticket_id, rules())
    sweep(sessions, rules(), now=WEDNESDAY_3PM)
    escalated = stored(sessions, ticket_id)
    assert escalated.priority == "high"
    # When the rules change and triage runs again (the new rules still say medium)
    triage(sessions, ticket_id, rules("# edited\n"))
    # Then the ticket stays high, with high's due dates
    ticket = stored(sessions, ticket_id)
    assert ticket.priority == "high"
    assert ticket.resolution_due_at == escalated.resolution_due_at
    assert ticket.resolution_due_at == datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN)
    # And the new decision records high, and why
    decision = latest_decision(sessions, ticket_id)
    assert decision.priority == "high"
    assert final_priority_reason(decision).startswith(
        "high, kept from an SLA escalation; the rules gave medium"
    )


def test_the_highest_of_several_escalations_is_kept(sessions: sessionmaker[Session]) -> None:
    # Given a ticket escalated twice: medium -> high, then high -> critical
    ticket_id = new_ticket(sessions, WEDNESDAY_10AM)
    triage(sessions, ticket_id, rules())
    sweep(sessions, rules(), now=WEDNESDAY_3PM)
    sweep(sessions, rules(), now=THURSDAY_11AM)
    assert stored(sessions, ticket_id).priority == "critical"
    # When the rules change and triage runs again
    triage(sessions, ticket_id, rules("# edited\n"))
    # Then it stays critical
    assert stored(sessions, ticket_id).priority == "critical"
    assert latest_decision(sessions, ticket_id).priority == "critical"


def test_new_rules_may_raise_an_escalated_ticket_further(
    sessions: sessionmaker[Session],
) -> None:
    # Given a ticket escalated from medium to high
    ticket_id = new_ticket(sessions, WEDNESDAY_10AM)
    triage(sessions, ticket_id, rules())
    sweep(sessions, rules(), now=WEDNESDAY_3PM)
    # When new rules make workspace questions critical and triage runs again
    triage(sessions, ticket_id, rules(WORKSPACE_RULE.format(priority="critical")))
    # Then the rules' higher priority wins, explained by the rule alone
    assert stored(sessions, ticket_id).priority == "critical"
    decision = latest_decision(sessions, ticket_id)
    assert decision.priority == "critical"
    assert "escalation" not in final_priority_reason(decision)


def test_a_ticket_never_escalated_follows_the_new_rules_down(
    sessions: sessionmaker[Session],
) -> None:
    # Given a ticket made high by a rule, never escalated
    ticket_id = new_ticket(sessions, WEDNESDAY_10AM)
    triage(sessions, ticket_id, rules(WORKSPACE_RULE.format(priority="high")))
    assert stored(sessions, ticket_id).priority == "high"
    # When the rule is removed and triage runs again
    triage(sessions, ticket_id, rules("# rule removed\n"))
    # Then the ticket is medium, as the rules now say
    assert stored(sessions, ticket_id).priority == "medium"
