"""The scheduler's housekeeping: prune what ``ingest.prune`` says is old, every hour.

The first pass comes shortly after start, so a scheduler restarted often (every deploy)
still prunes; ``omniroute db prune`` does the same from cron or by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from config.form_settings import FormSettings
from config.settings import Settings
from ingest.models import utcnow
from ingest.prune import Pruned, Retention, prune
from workers.process.periodic import Periodic
from workers.process.runtime import Runtime

log = logging.getLogger(__name__)

FIRST_PASS_SECONDS = 60.0
EVERY_SECONDS = 3600.0
# Rate buckets are pruned after a day idle at the least, longer if one takes longer
# to fill up from empty.
MIN_BUCKET_IDLE = timedelta(days=1)


def retention_for(settings: Settings, forms: FormSettings) -> Retention:
    """What the settings keep: ``OMNIROUTE_KEEP_*_DAYS`` (0 keeps for ever), and the rate
    buckets until the slowest of the form limits has surely filled up again."""
    fill_hours = max(
        forms.ip_burst / forms.ip_per_hour,
        forms.email_burst / forms.email_per_hour,
        forms.form_burst / forms.form_per_hour,
    )
    return Retention(
        done_work=_days(settings.keep_done_work_days),
        refused_posts=_days(settings.keep_refused_posts_days),
        idle_buckets=max(MIN_BUCKET_IDLE, timedelta(hours=fill_hours)),
    )


def _days(days: float) -> timedelta | None:
    return None if days == 0 else timedelta(days=days)


def described(pruned: Pruned) -> str:
    return (
        f"{pruned.done_work} done work rows, {pruned.refused_posts} refused posts, "
        f"{pruned.idle_buckets} idle rate buckets"
    )


class Housekeeper(Periodic):
    """Prunes after ``first`` seconds, then every ``every`` seconds, until stopped."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        retention: Retention,
        first: float = FIRST_PASS_SECONDS,
        every: float = EVERY_SECONDS,
    ) -> None:
        super().__init__("housekeeping", every, first=first)
        self.sessions = sessions
        self.retention = retention

    def run_pass(self) -> Pruned:
        pruned = prune(self.sessions, self.retention, utcnow(), stopping=lambda: self.stopping)
        if pruned.total:
            log.info("pruned %s", described(pruned))
        return pruned


@contextmanager
def housekeeper(runtime: Runtime) -> Iterator[Housekeeper]:
    """Prune in the background while the block runs."""
    keeper = Housekeeper(runtime.sessions, retention_for(runtime.settings, FormSettings()))
    keeper.start()
    try:
        yield keeper
    finally:
        keeper.stop()
