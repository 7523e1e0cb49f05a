"""What the ops console may do, built for the web role from the workers' own commands.

The console (in ``channels/``) cannot import the workers; this hands it the delivery
retry of ``omniroute deliveries retry``, the replay of held input (``omniroute inbound
replay``), and the check
that a token may sign in (an API token with the ``admin`` scope).
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from channels.console import ActionRefused, ConsoleConfig
from channels.console.auth import AdminTokenCheck
from config.settings import Settings
from ingest.db import unit_of_work
from ingest.failures import NotReplayable, replay_inbound
from ingest.tokens import ADMIN, authenticate, redact
from workers.cli.deliveries import NotRetryable, requeue

log = logging.getLogger(__name__)


def console_actions(sessions: sessionmaker[Session], settings: Settings) -> ConsoleConfig:
    return ConsoleConfig(
        is_admin_token=admin_token_check(sessions),
        retry_delivery=_retry,
        release_inbound=_release,
        secure_cookies=settings.console_secure_cookies,
    )


def admin_token_check(sessions: sessionmaker[Session]) -> AdminTokenCheck:
    """True for a stored, unrevoked API token with the ``admin`` scope.

    Checked on every console request, so revoking the token signs its holder out. A
    store that cannot answer lets no one in.
    """

    def is_admin_token(token: str) -> bool:
        try:
            with unit_of_work(sessions) as session:
                caller, reason = authenticate(session, token)
        except Exception as exc:
            log.warning("console sign-in not checked, store unavailable: %s", exc)
            return False
        if caller is None:
            log.info("console token refused: %s (%s)", reason, redact(token))
            return False
        return ADMIN in caller.scopes

    return is_admin_token


def _retry(session: Session, delivery_id: int) -> object:
    try:
        return requeue(session, delivery_id)
    except NotRetryable as exc:
        raise ActionRefused(str(exc)) from None


def _release(session: Session, inbound_id: int) -> object:
    """``omniroute inbound replay ID``: the held record goes through ingest again."""
    try:
        replay_inbound(session, inbound_id)
    except NotReplayable as exc:
        raise ActionRefused(str(exc)) from None
    return inbound_id
