"""Role health in the store: the heartbeats of every process.

Each process records a heartbeat for each role it runs (``web``, ``smtp``, ``imap``,
``slack``, ``worker``, ``scheduler``) every few seconds, from one thread of its own;
a process that stops beating goes stale, whichever host it ran on. What work waits,
and for how long, is :mod:`ingest.due_work`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from ingest.db import insert_ignoring_conflicts, unit_of_work
from ingest.models import RoleHeartbeat, utcnow
from ingest.refusals import REFUSALS

log = logging.getLogger(__name__)

ROLES = ("web", "smtp", "imap", "slack", "worker", "scheduler")
# Instances silent this long are shown as stale; after a day they are forgotten.
STALE_AFTER = timedelta(seconds=60)
FORGET_AFTER = timedelta(days=1)


def this_instance() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(session: Session, role: str, instance: str, serves: str) -> None:
    """Record that ``instance`` of ``role`` is alive now."""
    now = utcnow()
    session.execute(
        insert_ignoring_conflicts(session, RoleHeartbeat).values(
            role=role, instance=instance, serves=serves, started_at=now, beat_at=now
        )
    )
    session.execute(
        update(RoleHeartbeat)
        .where(RoleHeartbeat.role == role, RoleHeartbeat.instance == instance)
        .values(beat_at=now, serves=serves)
    )
    session.execute(delete(RoleHeartbeat).where(RoleHeartbeat.beat_at < now - FORGET_AFTER))


@dataclass(frozen=True, slots=True)
class InstanceHealth:
    role: str
    instance: str
    serves: str
    started_at: datetime
    beat_at: datetime
    age_seconds: float
    alive: bool


@dataclass(frozen=True, slots=True)
class RoleHealth:
    role: str
    alive: int
    last_beat_at: datetime | None
    age_seconds: float | None
    instances: tuple[InstanceHealth, ...]


def role_health(session: Session, now: datetime | None = None) -> list[RoleHealth]:
    """Every known role (and any other that beat), with its instances, newest first."""
    now = now or utcnow()
    rows = session.scalars(select(RoleHeartbeat).order_by(RoleHeartbeat.beat_at.desc())).all()
    by_role: dict[str, list[InstanceHealth]] = {role: [] for role in ROLES}
    for row in rows:
        age = (now - row.beat_at).total_seconds()
        by_role.setdefault(row.role, []).append(
            InstanceHealth(
                role=row.role,
                instance=row.instance,
                serves=row.serves,
                started_at=row.started_at,
                beat_at=row.beat_at,
                age_seconds=round(max(age, 0.0), 1),
                alive=age <= STALE_AFTER.total_seconds(),
            )
        )
    result = []
    for role, instances in by_role.items():
        last = instances[0] if instances else None
        result.append(
            RoleHealth(
                role=role,
                alive=sum(1 for i in instances if i.alive),
                last_beat_at=last.beat_at if last else None,
                age_seconds=last.age_seconds if last else None,
                instances=tuple(instances),
            )
        )
    return result


class HeartbeatThread:
    """Beats for each of this process's ``roles`` (each role and what it serves) every
    ``interval`` seconds until stopped, all in one transaction; a store outage is logged
    and the next beat tried, so a heartbeat never takes its process down.

    Each beat, and the stop, also writes the refusals this process counted
    (``ingest.refusals.REFUSALS``)."""

    def __init__(
        self, sessions: sessionmaker[Session], roles: Mapping[str, str], interval: float = 10.0
    ) -> None:
        self.sessions = sessions
        self.roles = dict(roles)
        self.interval = interval
        self.instance = this_instance()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        REFUSALS.flush(self.sessions)  # what this process counted last
        try:
            with unit_of_work(self.sessions) as session:
                # Gone on purpose: the roles show no live instance at once.
                session.execute(
                    delete(RoleHeartbeat).where(
                        RoleHeartbeat.role.in_(self.roles),
                        RoleHeartbeat.instance == self.instance,
                    )
                )
        except Exception as exc:
            log.warning("could not remove the %s heartbeats: %s", self.names, exc)

    @property
    def names(self) -> str:
        return ", ".join(self.roles)

    def _run(self) -> None:
        while True:
            try:
                with unit_of_work(self.sessions) as session:
                    for role, serves in self.roles.items():
                        beat(session, role, self.instance, serves)
            except Exception as exc:
                log.warning("%s heartbeat not recorded: %s", self.names, exc)
            REFUSALS.flush(self.sessions)
            if self._stop.wait(self.interval):
                return
