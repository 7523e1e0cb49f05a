"""The ops console under ``/console``: server-rendered pages for operators.

What is stuck, failing, held or late, on one screen each: intake per channel with
lag, tickets with their trace and every delivery attempt, failing hand-offs (retry),
quarantined input (release), SLA breaches, role health. Pages are Jinja2 templates
shipped in the package with a stylesheet and a few lines of optional script; charts
are SVG drawn on the server. Nothing is loaded from elsewhere.

- ``auth.py``    sign-in with an admin token, cookies, CSRF
- ``charts.py``  SVG charts
- ``pages.py``   the pages and the two actions
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from channels.console.auth import AdminTokenCheck


class ActionRefused(Exception):
    """An action that cannot be done to this item (not dead, not quarantined...)."""


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    """What the console needs from the process that serves it.

    ``retry_delivery`` and ``release_inbound`` run inside the caller's transaction and
    raise ``ActionRefused`` with the reason when the item is not in a state for it.
    """

    is_admin_token: AdminTokenCheck
    retry_delivery: Callable[[Session, int], object]
    release_inbound: Callable[[Session, int], object]
    secure_cookies: bool = False
