"""``OMNIROUTE_RETRAIN=daily|weekly``: the scheduler retrains the category model on time.

Every ``check_seconds`` the loop looks when the scheduler last retrained (its last
``ModelEvent``, so a restart does not retrain again, and two schedulers rarely both
do); when that is a period ago or more it runs ``workers.triage.retrain.retrain``,
which promotes the candidate only if it beats the model in force. Off by default;
``omniroute model retrain`` does the same from cron.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ingest import model_versions
from ingest.db import unit_of_work
from ingest.models import utcnow
from workers.process.periodic import Periodic
from workers.process.runtime import Runtime
from workers.triage.retrain import retrain

ACTOR = "scheduler"
PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
CHECK_SECONDS = 600.0


def due(sessions: sessionmaker[Session], period: timedelta, now: datetime) -> bool:
    """True when the scheduler has not retrained within ``period``."""
    with unit_of_work(sessions) as session:
        last = model_versions.last_event_at(session, ACTOR)
    return last is None or now - last >= period


class RetrainLoop(Periodic):
    """Retrains every ``period``, checking every ``check_seconds``."""

    def __init__(
        self, sessions: sessionmaker[Session], period: timedelta, check_seconds: float
    ) -> None:
        super().__init__("scheduled retrain", check_seconds)
        self.sessions = sessions
        self.period = period

    def run_pass(self) -> None:
        self.run_once()

    def run_once(self, now: datetime | None = None) -> bool:
        """Retrain if due; True when a retrain ran."""
        if not due(self.sessions, self.period, now or utcnow()):
            return False
        retrain(self.sessions, actor=ACTOR, now=now)
        return True


@contextmanager
def retrainer(runtime: Runtime) -> Iterator[RetrainLoop | None]:
    """Retrain in the background while the block runs, when ``OMNIROUTE_RETRAIN`` says so."""
    setting = runtime.settings.retrain
    if setting == "off":
        yield None
        return
    loop = RetrainLoop(runtime.sessions, PERIODS[setting], CHECK_SECONDS)
    loop.start()
    try:
        yield loop
    finally:
        loop.stop()
