"""Role health and due work as one JSON-safe report, shared by ``/readyz``, the CLI and
the console so all three say the same."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ingest.health import oldest_due_work, role_health


def health_report(session: Session) -> dict[str, Any]:
    roles = role_health(session)
    return {
        "roles": {
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
            for role in roles
        },
        "due_work": {
            work.kind: {
                "count": work.count,
                "oldest_due_at": _iso(work.oldest_due_at),
                "age_seconds": work.age_seconds,
            }
            for work in oldest_due_work(session)
        },
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
