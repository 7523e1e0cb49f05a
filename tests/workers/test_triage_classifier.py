"""The category model in triage: loaded with the rules, reloaded with them, used when no
rule matched, and never overriding a category an agent corrected."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.models import Ticket
from tests.classifier_support import artifact_bytes
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.workers.test_pipeline import send
from workers.cli import main
from workers.triage.decide import triage_ticket
from workers.triage.rules_source import RulesSource

RULES = """
format: 1
categorize:
  default: general
  classifier: {model: model.skops, threshold: 0.6, fallback: general}
  rules:
    - name: outage-is-technical
      when: {keywords: [outage]}
      category: technical
routes:
  - name: default
    team: support
"""


def rules_dir(tmp_path: Path) -> Path:
    (tmp_path / "model.skops").write_bytes(artifact_bytes())
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


def test_the_model_categorizes_when_no_rule_matched(
    settings: Settings, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # Given rules naming a trained model, and a customer asking for a refund
    source = RulesSource(rules_dir(tmp_path))
    pipe = Pipeline(settings, sessions, rules=source.current())
    pipe.runtime.rules_source = source
    try:
        send(
            sessions,
            bytes(
                customer_mail(
                    subject="Refund",
                    body="I bought something but now I would like a refund. How do I do that?",
                )
            ),
        )
        send(
            sessions,
            bytes(customer_mail(sender="ops@b.test", subject="Outage", body="Total outage.")),
        )
        # When the pipeline runs
        pipe.drain()
    finally:
        pipe.close()
    # Then the model decided the first (no rule matched) and the rule the second
    with sessions() as session:
        tickets = {t.subject: t for t in session.execute(select(Ticket)).scalars()}
    assert (tickets["Refund"].category, tickets["Refund"].category_source) == ("billing", "model")
    assert (tickets["Outage"].category, tickets["Outage"].category_source) == (
        "technical",
        "rule",
    )


def test_a_replaced_model_file_is_reloaded(tmp_path: Path) -> None:
    # Given a running source whose model file is then replaced by a damaged one
    path = rules_dir(tmp_path)
    source = RulesSource(path, check_seconds=0)
    first = source.classifier()
    assert first is not None
    damaged = bytearray(artifact_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (tmp_path / "model.skops").write_bytes(bytes(damaged))
    stat = (tmp_path / "model.skops").stat()
    os.utime(tmp_path / "model.skops", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    # When the rules are read again, the damaged model is refused and the old one kept
    assert source.classifier() is first
    # And a good model written back is loaded
    (tmp_path / "model.skops").write_bytes(artifact_bytes())
    os.utime(tmp_path / "model.skops", ns=(stat.st_atime_ns, stat.st_mtime_ns + 2 * 10**9))
    reloaded = source.classifier()
    assert reloaded is not None and reloaded is not first


def test_an_agent_correction_survives_re_triage_and_feeds_training(
    settings: Settings, sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    # Given a ticket the rules called account
    pipe = Pipeline(settings, sessions)
    try:
        send(sessions, bytes(customer_mail(subject="Cannot log in", body="Cannot log in.")))
        pipe.drain()
    finally:
        pipe.close()
    env = {"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(settings.data_dir)}
    # When an agent corrects it to technical
    result = CliRunner().invoke(
        main, ["tickets", "set-category", "1", "technical", "--by", "alice"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "category account -> technical (by alice)" in result.output
    # And triage runs again under other rules
    source = RulesSource(rules_dir(tmp_path))
    with sessions.begin() as session:
        triage_ticket(session, 1, source.current(), classifier=source.classifier())
    # Then the agent's category stays, and the timeline says who changed it
    with sessions() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None
        assert (ticket.category, ticket.category_source) == ("technical", "agent")
        assert any(
            "corrected from account to technical by alice" in m.body_text for m in ticket.messages
        )
    # And an unknown category is refused
    bad = CliRunner().invoke(main, ["tickets", "set-category", "1", "nonsense"], env=env)
    assert bad.exit_code == 1
    assert "unknown category 'nonsense'" in bad.output


def test_replay_uses_the_new_rules_model_and_keeps_agent_categories(
    settings: Settings, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # Given a refund request the default rules called billing, and a login problem an
    # agent corrected from account to technical
    from ingest.corrections import correct_category
    from workers.triage.classifier_loader import load_classifier
    from workers.triage.replay import replay

    pipe = Pipeline(settings, sessions)
    try:
        send(sessions, bytes(customer_mail(subject="Cannot log in", body="Cannot log in.")))
        send(
            sessions,
            bytes(
                customer_mail(
                    sender="bob@b.test",
                    subject="Money back",
                    body="I bought something but now I would like a refund. How do I do that?",
                )
            ),
        )
        pipe.drain()
    finally:
        pipe.close()
    with sessions.begin() as session:
        login = session.execute(
            select(Ticket).where(Ticket.subject == "Cannot log in")
        ).scalar_one()
        correct_category(session, login, "technical", "alice")
    # When rules with a model (and no billing keywords) are replayed
    source = RulesSource(rules_dir(tmp_path))
    report = replay(sessions, source.current(), classifier=load_classifier(source.current()))
    # Then the model's answer is compared, and the agent's category is not counted as a change
    assert report.tickets == 2
    assert report.counts["category"] == 0
