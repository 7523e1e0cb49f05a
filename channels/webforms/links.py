"""Follow-up links: ``/t/{token}`` for a ticket, signed, expiring, revocable per ticket."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from config.form_settings import FormSettings
from config.settings import Settings
from normalize.form_tokens import follow_up_token


def follow_up_path(
    secret: bytes, ticket: int, days: float, now: int | None = None
) -> tuple[str, int]:
    """The path of a new follow-up link for ``ticket``, and when it expires."""
    issued = int(time.time()) if now is None else now
    expires = issued + int(days * 86400)
    return f"/t/{follow_up_token(secret, ticket, issued, expires)}", expires


def follow_up_link(settings: Settings, ticket: int) -> str:
    """The absolute link an acknowledgement carries (``OMNIROUTE_FORM_PUBLIC_URL``)."""
    forms = FormSettings()
    path, _ = follow_up_path(settings.signing_key, ticket, forms.follow_up_days)
    return forms.public_url.rstrip("/") + path


def expiry_text(expires: int) -> str:
    return datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M UTC")
