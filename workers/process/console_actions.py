"""What the ops console may do, built for the web role from the workers' own commands.

The console (in ``channels/``) cannot import the workers; this hands it the delivery
retry of ``omniroute deliveries retry``, the release of held input, and the check
that a token may sign in.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy.orm import Session

from channels.console import ActionRefused, ConsoleConfig
from channels.console.auth import AdminTokenCheck
from config.settings import Settings
from ingest.release import NotReleasable, release_inbound
from workers.cli.deliveries import NotRetryable, requeue


def console_actions(settings: Settings) -> ConsoleConfig:
    return ConsoleConfig(
        is_admin_token=settings_admin_token_check(settings),
        retry_delivery=_retry,
        release_inbound=_release,
        secure_cookies=settings.console_secure_cookies,
    )


def settings_admin_token_check(settings: Settings) -> AdminTokenCheck:
    """Accepts exactly the token in ``OMNIROUTE_ADMIN_TOKEN`` (none when it is unset).

    Stands in for a lookup of scoped API tokens in the store: the console asks only
    "is this an admin token?", so that lookup replaces this function alone.
    """
    expected = settings.admin_token.get_secret_value() if settings.admin_token else None
    digest = hashlib.sha256(expected.encode()).digest() if expected else None

    def is_admin_token(token: str) -> bool:
        if digest is None:
            return False
        return hmac.compare_digest(hashlib.sha256(token.encode()).digest(), digest)

    return is_admin_token


def _retry(session: Session, delivery_id: int) -> object:
    try:
        return requeue(session, delivery_id)
    except NotRetryable as exc:
        raise ActionRefused(str(exc)) from None


def _release(session: Session, inbound_id: int) -> object:
    try:
        return release_inbound(session, inbound_id)
    except NotReleasable as exc:
        raise ActionRefused(str(exc)) from None
