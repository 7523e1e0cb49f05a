"""Counters the edges keep in process: failures no store row can show.

A bug in the accept path leaves nothing in the store (the sender is told to
retry), so it is counted here; the ASGI app's ``/metrics`` serves these beside
the store's figures (in ``omniroute run`` the SMTP edge shares its process).
"""

from __future__ import annotations

from prometheus_client import Counter

EDGE_INTERNAL_ERRORS = Counter(
    "omniroute_edge_internal_errors",
    "Inputs an edge could not accept because of an internal error (a bug), by channel",
    ["channel"],
    registry=None,
)
EDGE_REFUSED = Counter(
    "omniroute_edge_refused",
    "Connections or messages an edge turned away for a limit, by channel and reason",
    ["channel", "reason"],
    registry=None,
)
