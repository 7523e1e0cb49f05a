"""Triage's category model read as a worker starts, not by its first ticket.

The shipped model is read on first use so that processes that never triage never load
scikit-learn; in a worker that first use was the first ticket after every start, which
waited about three seconds for the model (the import of scikit-learn and the artifact's
checks). A worker reads it on a thread of its own as soon as it starts instead.
"""

from __future__ import annotations

import logging
import threading
import time

from workers.triage.live_model import LiveModel, classifier_for
from workers.triage.rules_source import RulesSource

log = logging.getLogger(__name__)


def warm_up_triage(rules_source: RulesSource, live_model: LiveModel) -> threading.Thread:
    """Start reading the model triage will use (the rules', a live stored one or the
    shipped one); a ticket that comes meanwhile waits for the same read, not a second."""
    thread = threading.Thread(
        target=_read_model, args=(rules_source, live_model), name="triage-warm-up", daemon=True
    )
    thread.start()
    return thread


def _read_model(rules_source: RulesSource, live_model: LiveModel) -> None:
    began = time.perf_counter()
    try:
        model = classifier_for(rules_source.snapshot(), live_model.current())
    except Exception as exc:
        # The first ticket reads it again and meets the same trouble where it is handled.
        log.warning("reading the category model ahead of the first ticket failed: %r", exc)
        return
    if model is not None:
        log.info("category model ready in %.1f s", time.perf_counter() - began)
