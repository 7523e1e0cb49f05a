"""The scheduler's periodic passes: an outage is a warning, a bug a traceback; both go on."""

from __future__ import annotations

import logging
import threading

import pytest

from ingest.errors import StoreUnavailable
from workers.process.periodic import Periodic


class Flaky(Periodic):
    """Meets a store outage, then a broker outage, then a bug, then works."""

    def __init__(self) -> None:
        super().__init__("flaky sweep", 0.01, first=0, outages={"broker": (ConnectionError,)})
        self.passes = 0
        self.worked = threading.Event()

    def run_pass(self) -> None:
        self.passes += 1
        if self.passes == 1:
            raise StoreUnavailable("connection refused")
        if self.passes == 2:
            raise ConnectionError("broker gone")
        if self.passes == 3:
            raise KeyError("a bug")
        self.worked.set()


def test_outages_and_bugs_are_logged_by_kind_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a pass that fails three ways before it works
    loop = Flaky()
    # When the loop runs
    with caplog.at_level(logging.WARNING, logger="workers.process.periodic"):
        loop.start()
        try:
            assert loop.worked.wait(10)
        finally:
            loop.stop()
    # Then each outage is one warning naming what was unavailable, the bug is logged
    # with its traceback, and the fourth pass ran
    records = [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert records[:3] == [
        ("WARNING", "flaky sweep: store unavailable: connection refused", False),
        ("WARNING", "flaky sweep: broker unavailable: broker gone", False),
        ("ERROR", "flaky sweep pass failed", True),
    ]
    assert loop.passes >= 4
