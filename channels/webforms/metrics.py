"""``omniroute_form_refusals``: refused form posts still kept (housekeeping deletes old
ones), by form and reason, read from the store."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from ingest.form_refusals import counts_by_reason


class FormRefusalCollector(Collector):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        refused = GaugeMetricFamily(
            "omniroute_form_refusals",
            "Web-form posts refused as abuse and still kept, by form and reason",
            labels=["form", "reason"],
        )
        with self.sessions() as session:
            for (form, reason), count in sorted(counts_by_reason(session).items()):
                refused.add_metric([form, reason], count)
        yield refused
