"""Models that keep learning: retrain from corrected tickets, promote only when better,
roll back, and see what a candidate would change before it goes live."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from config.rules import default_rules, load_rules_text
from config.settings import Settings
from ingest import model_versions
from ingest.models import ModelEvent, ModelVersion, Ticket
from tests.workers.store_tickets import new_ticket
from workers.cli import main
from workers.triage.classifier_loader import builtin_model, load_classifier
from workers.triage.decide import triage_ticket
from workers.triage.live_model import LiveModel, classifier_for
from workers.triage.retrain import retrain
from workers.triage.retrain_schedule import PERIODS, RetrainLoop
from workers.triage.rules_source import LoadedRules

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PARCELS = (
    "Where is my parcel {n}? It should have arrived by now.",
    "My package {n} still has not been delivered.",
    "The courier says parcel {n} was delivered but I never got it.",
    "Can you tell me when parcel {n} will arrive? The tracking has not changed.",
)  # four phrasings: every one of them is among the held-apart tickets (every fifth)
CLEAR = (
    ("I was charged twice for order {n}, please refund one payment.", "billing"),
    ("The app crashes every time I open screen {n}.", "technical"),
)
SHIPPING_RULES = """
format: 1
categories: [technical, billing, account, general, feature_request, complaint, system, shipping]
routes:
  - {name: shipping, when: {category: shipping}, team: shipping}
  - {name: default, team: support}
"""


def corrected(sessions: sessionmaker[Session], subject: str, body: str, category: str) -> int:
    number = new_ticket(sessions, AT, subject=subject, body=body)
    with sessions.begin() as session:
        session.execute(
            update(Ticket)
            .where(Ticket.id == number)
            .values(category=category, category_source="agent")
        )
    return number


def shipping_desk(sessions: sessionmaker[Session], count: int = 60) -> None:
    """A desk whose agents file every parcel question under their own category."""
    for n in range(count):
        corrected(sessions, "Parcel", PARCELS[n % len(PARCELS)].format(n=n), "shipping")


def events(sessions: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with sessions() as session:
        rows = session.execute(select(ModelEvent).order_by(ModelEvent.id)).scalars()
        return [(row.action, row.version, row.actor) for row in rows]


def live(sessions: sessionmaker[Session]) -> str | None:
    with sessions() as session:
        return model_versions.live_name(session)


def test_a_candidate_that_beats_the_model_in_force_is_promoted_and_recorded(
    sessions: sessionmaker[Session],
) -> None:
    # Given agents who corrected 60 parcel questions to their own category, shipping
    shipping_desk(sessions)
    # When the model is retrained
    result = retrain(sessions, actor="test", now=AT)
    # Then the candidate beat the shipped model on the held-apart tickets and is live
    assert result.outcome == "promoted", result.reason
    assert result.in_force == "builtin"
    assert live(sessions) == result.version
    assert events(sessions) == [("promoted", result.version, "test")]
    with sessions() as session:
        row = model_versions.live_version(session)
        assert row is not None
        held, before = row.figures["held_apart"], row.figures["in_force"]
    assert held["rows"] == 12
    assert held["macro_f1"] > before["macro_f1"]
    assert before["version"] == "builtin"
    assert "shipping" in row.labels


def test_a_candidate_that_is_not_better_is_rejected_and_the_model_in_force_stays(
    sessions: sessionmaker[Session],
) -> None:
    # Given corrections that only confirm what the shipped model already says
    for n in range(50):
        text, category = CLEAR[n % 2]
        corrected(sessions, "Help", text.format(n=n), category)
    assert builtin_model().predict("Help", CLEAR[0][0].format(n=1)).label == "billing"
    # When the model is retrained
    result = retrain(sessions, actor="test", now=AT)
    # Then the candidate is stored as rejected, with the reason, and nothing went live
    assert result.outcome == "rejected"
    assert "does not beat the model in force" in result.reason
    assert live(sessions) is None
    assert events(sessions) == [("rejected", result.version, "test")]


def test_a_candidate_already_stored_is_not_stored_again(
    sessions: sessionmaker[Session],
) -> None:
    # Given a retrain that promoted a model, and no new corrections since
    shipping_desk(sessions)
    first = retrain(sessions, actor="test", now=AT)
    assert first.outcome == "promoted", first.reason
    # When the model is retrained a week later on the same rows
    again = retrain(sessions, actor="test", now=AT + timedelta(days=7))
    # Then the candidate is the same model (same bytes, same version): the retrain is
    # skipped and recorded, the stored model stays live, and it is stored once
    assert again.outcome == "skipped"
    assert again.version == first.version
    assert f"same model as stored version {first.version}" in again.reason
    assert live(sessions) == first.version
    with sessions() as session:
        assert len(session.execute(select(ModelVersion)).all()) == 1
    assert events(sessions) == [
        ("promoted", first.version, "test"),
        ("skipped", first.version, "test"),
    ]


def test_without_held_apart_tickets_the_retrain_is_skipped_and_recorded(
    sessions: sessionmaker[Session],
) -> None:
    # Given no corrected tickets at all
    # When the model is retrained
    result = retrain(sessions, actor="test", now=AT)
    # Then nothing is trained or stored, and the skip is on record
    assert (result.outcome, result.version) == ("skipped", None)
    with sessions() as session:
        assert session.execute(select(ModelVersion)).first() is None
    assert events(sessions) == [("skipped", "builtin", "test")]


def test_triage_uses_the_live_model_when_the_rules_name_none(
    sessions: sessionmaker[Session],
) -> None:
    # Given a promoted shipping model and rules that have the shipping category
    shipping_desk(sessions)
    assert retrain(sessions, actor="test", now=AT).outcome == "promoted"
    rules = load_rules_text(SHIPPING_RULES)
    loaded = LoadedRules(rules, load_classifier(rules))
    model = LiveModel(sessions).current()
    assert model is not None
    # When a new parcel question is triaged with the model triage would pick
    number = new_ticket(sessions, AT, subject="Parcel", body="Has my parcel 99 been sent yet?")
    with sessions.begin() as session:
        decision = triage_ticket(session, number, rules, classifier=classifier_for(loaded, model))
    # Then the live model categorized it in the desk's own category
    assert decision is not None
    assert (decision.category, decision.category_source, decision.team) == (
        "shipping",
        "model",
        "shipping",
    )
    # And rules without that category keep the model that came with them
    default = LoadedRules(default_rules(), builtin_model())
    assert classifier_for(default, model) is builtin_model()


def run(settings: Settings, database_url: str, *args: str) -> tuple[int, str]:
    env = {"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(settings.data_dir)}
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_model_use_rolls_back_and_list_shows_every_version_and_the_history(
    settings: Settings, database_url: str, sessions: sessionmaker[Session]
) -> None:
    # Given a promoted model
    shipping_desk(sessions)
    promoted = retrain(sessions, actor="scheduler", now=AT).version
    assert promoted is not None
    # When an operator rolls back to the shipped model, then forward again
    code, output = run(settings, database_url, "model", "use", "builtin", "--by", "ops")
    assert code == 0, output
    assert "model in force: builtin" in output
    assert live(sessions) is None
    code, output = run(settings, database_url, "model", "use", promoted[:8], "--by", "ops")
    assert code == 0, output
    assert live(sessions) == promoted
    # Then the list shows each version with its figures, the live one, and what happened
    code, output = run(settings, database_url, "model", "list", "--json")
    assert code == 0, output
    document = json.loads(output)
    assert document["live"] == promoted
    assert [(v["version"], v["status"]) for v in document["versions"]] == [
        ("builtin", "shipped"),
        (promoted, "live"),
    ]
    assert document["versions"][1]["figures"]["held_apart"]["rows"] == 12
    assert [(e["action"], e["version"], e["actor"]) for e in document["events"]] == [
        ("used", promoted, "ops"),
        ("used", "builtin", "ops"),
        ("promoted", promoted, "scheduler"),
    ]
    code, text = run(settings, database_url, "model", "list")
    assert f"* {promoted}" in text


def test_model_use_of_an_unknown_version_is_a_clear_error(
    settings: Settings, database_url: str
) -> None:
    code, output = run(settings, database_url, "model", "use", "deadbeef")
    assert code == 1
    assert "no single stored model 'deadbeef'" in output


def test_replay_shows_what_a_candidate_would_change_before_it_goes_live(
    settings: Settings, database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # Given parcel tickets triaged by the shipping rules with the shipped model
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(SHIPPING_RULES, encoding="utf-8")
    rules = load_rules_text(SHIPPING_RULES)
    waiting = new_ticket(sessions, AT, subject="Parcel", body="Where is my parcel 501?")
    with sessions.begin() as session:
        triage_ticket(session, waiting, rules, classifier=builtin_model())
    # and a candidate trained on the desk's corrections, turned down for lack of figures
    shipping_desk(sessions, count=20)
    result = retrain(sessions, actor="test", now=AT)
    assert result.outcome == "rejected" and result.version is not None
    # When the candidate is replayed over the store
    code, output = run(
        settings,
        database_url,
        "replay",
        "--rules",
        str(rules_file),
        "--model",
        result.version,
        "--json",
    )
    # Then the report shows the waiting ticket would move to shipping; nothing went live
    assert code == 0, output
    report = json.loads(output)
    changes = {c["ticket"]: (c["before"], c["after"]) for c in report["examples"]["category"]}
    assert changes[waiting] == ("general", "shipping")
    assert live(sessions) is None


def test_the_scheduler_retrains_once_per_period(sessions: sessionmaker[Session]) -> None:
    # Given a weekly retrain loop (not started: driven by hand)
    loop = RetrainLoop(sessions, PERIODS["weekly"], check_seconds=3600)
    # When it is asked now, a day later, and eight days later
    first = loop.run_once(now=AT)
    again = loop.run_once(now=AT + timedelta(days=1))
    later = loop.run_once(now=datetime.now(UTC) + timedelta(days=8))
    # Then it retrained the first and the last time only
    assert (first, again, later) == (True, False, True)
    assert [action for action, _, _ in events(sessions)] == ["skipped", "skipped"]


@pytest.mark.parametrize("setting", ["daily", "weekly"])
def test_retrain_setting_is_read_from_the_environment(
    setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import load_settings

    monkeypatch.setenv("OMNIROUTE_RETRAIN", setting)
    assert load_settings().retrain == setting
