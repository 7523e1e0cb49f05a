"""The ticket statuses, shared by the store, the router and the API.

``new`` (nobody looked yet), ``open``, ``pending`` (waiting on the customer),
``solved`` and ``closed``; the last two are resolved: no SLA clock runs, and they do
not count against an agent's capacity.
"""

from __future__ import annotations

STATUSES = ("new", "open", "pending", "solved", "closed")
RESOLVED = ("solved", "closed")
