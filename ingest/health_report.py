"""Role health and due work as one JSON-safe report, shared by ``/readyz``, the CLI and
the console so all three say the same."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ingest.due_work import due_work
from ingest.health import role_health


def health_report(session: Session) -> dict[str, Any]:
    """Each role's heartbeats and each kind of due work (:mod:`ingest.due_work`)."""
    return {
        "roles": role_report(session),
        "due_work": {due.kind: due.as_dict() for due in due_work(session)},
    }


def role_report(session: Session) -> dict[str, Any]:
    return {
        role.role: {
            "alive": role.alive,
            "last_beat_at": _iso(role.last_beat_at),
            "age_seconds": role.age_seconds,
            "instances": [
                {
                    "instance": i.instance,
                    "serves": i.serves,
                    "started_at": _iso(i.started_at),
                    "beat_at": _iso(i.beat_at),
                    "age_seconds": i.age_seconds,
                    "alive": i.alive,
                }
                for i in role.instances
            ],
        }
        for role in role_health(session)
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
