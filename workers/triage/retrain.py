"""Retrain the category model from corrected tickets, and promote it only if it is better.

One run: the store's agent-corrected tickets are split by ticket number
(``router.classifier.promote.held_apart``); a candidate learns from the shipped
training rows (``config/default_training.csv``) and the corrected tickets not held
apart; the candidate and the model in force (the live stored version, else the
shipped model) are both evaluated on the held-apart tickets; the candidate is stored
and made live only if it beats the one in force, and the outcome is recorded either
way (``omniroute model list`` shows it; ``omniroute model use`` rolls back). Training
is reproducible, so a candidate trained on the same rows as a stored version is that
version: the run is then skipped, and recorded as such.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from config.classifier import BUILTIN_TRAINING
from ingest import model_versions
from ingest.db import unit_of_work
from ingest.models import utcnow
from workers.triage.training_data import (
    LabelledRows,
    agent_corrected_tickets,
    read_labelled_csv,
)

if TYPE_CHECKING:
    from router.classifier.model import CategoryModel
    from router.classifier.types import Evaluation

log = logging.getLogger(__name__)

SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class RetrainResult:
    """What one retrain did: the candidate's version (if one was trained) and why."""

    outcome: str  # promoted | rejected | skipped
    reason: str
    version: str | None = None
    in_force: str = model_versions.BUILTIN


def in_force_model(session: Session) -> tuple[str, CategoryModel]:
    """The model triage uses when the rules name none: the live version, else the shipped."""
    from router.classifier.artifact import load_artifact
    from workers.triage.classifier_loader import builtin_model

    live = model_versions.live_version(session)
    if live is None:
        return model_versions.BUILTIN, builtin_model()
    return live.version, load_artifact(live.artifact)


def retrain(
    sessions: sessionmaker[Session],
    *,
    actor: str,
    now: datetime | None = None,
    shipped: LabelledRows | None = None,
) -> RetrainResult:
    """Train a candidate, judge it against the model in force, promote it if better."""
    from router.classifier.artifact import dump_artifact, load_artifact
    from router.classifier.evaluate import evaluate
    from router.classifier.promote import held_apart, judge
    from router.classifier.train import train

    now = now or utcnow()
    with unit_of_work(sessions) as session:
        corrected = agent_corrected_tickets(session)
        in_force_name, in_force = in_force_model(session)
    judged = [(text, label) for ticket_id, text, label in corrected if held_apart(ticket_id)]
    learned = [(text, label) for ticket_id, text, label in corrected if not held_apart(ticket_id)]
    texts, labels = [text for text, _ in judged], [label for _, label in judged]
    if not judged:
        reason = f"no held-apart corrected tickets yet ({len(corrected)} corrected in all)"
        return _skip(sessions, reason, actor, in_force_name)
    base = shipped if shipped is not None else read_labelled_csv(BUILTIN_TRAINING, "text", "label")
    rows = base + LabelledRows([t for t, _ in learned], [label for _, label in learned])
    candidate = load_artifact(dump_artifact(train(rows.texts, rows.labels, trained_at=now)))
    mine, theirs = evaluate(candidate, texts, labels), evaluate(in_force, texts, labels)
    verdict = judge(mine, theirs)
    with unit_of_work(sessions) as session:
        if model_versions.live_name(session) not in (None, in_force_name):
            in_force_name = str(model_versions.live_name(session))
            return _skip(
                sessions, "the live model changed during the retrain", actor, in_force_name
            )
        same = model_versions.stored_version(session, candidate.version)
        if same is not None:
            # The same rows train the same bytes: nothing new to judge or store.
            reason = (
                f"the candidate is the same model as stored version {same.version} "
                f"({same.status}): no new training rows since it was trained"
            )
            model_versions.record(session, same.version, SKIPPED, reason, actor)
            log.info("category model retrain skipped: %s", reason)
            return RetrainResult(SKIPPED, reason, same.version, in_force_name)
        row = model_versions.add_version(
            session,
            version=candidate.version,
            artifact=dump_artifact(candidate),
            trained_at=now,
            training_rows=len(rows),
            labels=candidate.labels,
            figures={
                "held_apart": _figures(mine),
                "in_force": {"version": in_force_name, **_figures(theirs)},
                "corrected_rows": len(learned),
                "shipped_rows": len(base),
            },
        )
        if verdict.promote:
            model_versions.make_live(
                session,
                row.version,
                action=model_versions.PROMOTED,
                reason=f"{verdict.reason}; replaced {in_force_name}",
                actor=actor,
            )
        else:
            model_versions.reject(session, row, verdict.reason, actor)
    outcome = model_versions.PROMOTED if verdict.promote else model_versions.REJECTED
    log.info("retrained category model %s: %s (%s)", candidate.version, outcome, verdict.reason)
    return RetrainResult(outcome, verdict.reason, candidate.version, in_force_name)


def _figures(result: Evaluation) -> dict[str, Any]:
    return {
        "rows": result.rows,
        "accuracy": round(result.accuracy, 4),
        "macro_f1": round(result.macro_f1, 4),
    }


def _skip(sessions: sessionmaker[Session], reason: str, actor: str, in_force: str) -> RetrainResult:
    with unit_of_work(sessions) as session:
        model_versions.record(session, in_force, SKIPPED, reason, actor)
    log.info("category model retrain skipped: %s", reason)
    return RetrainResult(SKIPPED, reason, None, in_force)
