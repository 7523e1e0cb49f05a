"""The category models trained from the store, which one is live, and their history.

At most one version is ``live``: the model triage uses when the rules name none. No
live version means the model shipped with omniroute (``builtin``). Every change of
the live model, and every candidate turned down, is a ``ModelEvent`` with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ingest.models import ModelEvent, ModelVersion, utcnow

BUILTIN = "builtin"
LIVE = "live"
CANDIDATE = "candidate"
REJECTED = "rejected"
PROMOTED = "promoted"
USED = "used"


class UnknownVersion(LookupError):
    """No stored model has this version."""


def live_version(session: Session) -> ModelVersion | None:
    """The live stored model, or None when the shipped one is in force."""
    return session.execute(
        select(ModelVersion).where(ModelVersion.status == LIVE).limit(1)
    ).scalar_one_or_none()


def live_name(session: Session) -> str | None:
    """The live stored model's version (a cheap look that reads no artifact)."""
    return session.execute(
        select(ModelVersion.version).where(ModelVersion.status == LIVE).limit(1)
    ).scalar_one_or_none()


def stored_version(session: Session, version: str) -> ModelVersion | None:
    """The stored model whose version is exactly ``version``, if any."""
    return session.execute(
        select(ModelVersion).where(ModelVersion.version == version)
    ).scalar_one_or_none()


def find_version(session: Session, version: str) -> ModelVersion:
    """The stored model ``version`` (a unique prefix will do); raises ``UnknownVersion``."""
    found = (
        session.execute(
            select(ModelVersion).where(ModelVersion.version.startswith(version, autoescape=True))
        )
        .scalars()
        .all()
    )
    if len(found) != 1 or not version:
        known = ", ".join(list_versions_names(session)) or "none stored"
        raise UnknownVersion(f"no single stored model {version!r} (stored: {known})")
    return found[0]


def list_versions_names(session: Session) -> list[str]:
    return list(session.execute(select(ModelVersion.version).order_by(ModelVersion.id)).scalars())


def list_versions(session: Session) -> Sequence[ModelVersion]:
    """Every stored model, oldest first."""
    return session.execute(select(ModelVersion).order_by(ModelVersion.id)).scalars().all()


def model_events(session: Session, limit: int = 50) -> Sequence[ModelEvent]:
    """The latest promotions, rejections and rollbacks, newest first."""
    return (
        session.execute(select(ModelEvent).order_by(ModelEvent.id.desc()).limit(limit))
        .scalars()
        .all()
    )


def add_version(
    session: Session,
    *,
    version: str,
    artifact: bytes,
    trained_at: datetime,
    training_rows: int,
    labels: Sequence[str],
    figures: dict[str, Any],
) -> ModelVersion:
    """Store a trained model as a candidate (not yet live)."""
    row = ModelVersion(
        version=version,
        artifact=artifact,
        trained_at=trained_at,
        training_rows=training_rows,
        labels=list(labels),
        figures=figures,
        status=CANDIDATE,
    )
    session.add(row)
    session.flush()
    return row


def make_live(session: Session, version: str, *, action: str, reason: str, actor: str) -> None:
    """Make ``version`` (or ``builtin``) the model in force, and record it."""
    chosen = None if version == BUILTIN else find_version(session, version)
    # Lock the live row (PostgreSQL) so two promotions do not leave two live models.
    session.execute(
        select(ModelVersion.id).where(ModelVersion.status == LIVE).with_for_update()
    ).all()
    session.execute(
        update(ModelVersion).where(ModelVersion.status == LIVE).values(status=CANDIDATE)
    )
    if chosen is not None:
        chosen.status = LIVE
    record(session, chosen.version if chosen else BUILTIN, action, reason, actor)


def reject(session: Session, row: ModelVersion, reason: str, actor: str) -> None:
    row.status = REJECTED
    record(session, row.version, REJECTED, reason, actor)


def record(session: Session, version: str, action: str, reason: str, actor: str) -> None:
    session.add(ModelEvent(version=version, action=action, reason=reason, actor=actor, at=utcnow()))
    session.flush()


def last_event_at(session: Session, actor: str) -> datetime | None:
    """When ``actor`` last promoted, turned down or skipped a model."""
    return session.execute(
        select(ModelEvent.at)
        .where(ModelEvent.actor == actor)
        .order_by(ModelEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()
