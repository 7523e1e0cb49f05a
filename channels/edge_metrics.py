"""Counters the edges keep in process: failures no store row can show.

A bug in the accept path leaves nothing in the store (the sender is told to
retry), so it is counted here; the ASGI app's ``/metrics`` serves these beside
the store's figures (in ``omniroute run`` the SMTP edge shares its process).

``refused`` counts a refusal twice over: here, for this process, and in the
process's tally that the heartbeat writes to the store, so every web process's
``omniroute_refusals_total`` shows every edge's refusals.
"""

from __future__ import annotations

from prometheus_client import Counter

from ingest.refusals import REFUSALS

EDGE_INTERNAL_ERRORS = Counter(
    "omniroute_edge_internal_errors",
    "Inputs an edge could not accept because of an internal error (a bug), by channel",
    ["channel"],
    registry=None,
)
EDGE_REFUSED = Counter(
    "omniroute_edge_refused",
    "Input an edge turned away in this process, by channel and reason",
    ["channel", "reason"],
    registry=None,
)


def refused(channel: str, reason: str) -> None:
    """Count one input an edge turned away (in this process and, in aggregate, the store)."""
    EDGE_REFUSED.labels(channel=channel, reason=reason).inc()
    REFUSALS.add(channel, reason)
