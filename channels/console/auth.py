"""Console sign-in: an ``admin`` token kept in an HTTP-only, same-site cookie, and CSRF.

The token is checked again on every request, so a revoked token signs its holder out
at once. Every form carries a CSRF token that must match a cookie of its own (the
double-submit pattern); a cross-site page can neither read that cookie nor, with
``SameSite=Strict``, send the sign-in cookie along.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "omniroute_console"
CSRF_COOKIE = "omniroute_csrf"
CSRF_FIELD = "csrf"
COOKIE_PATH = "/console"
MAX_FORM_BYTES = 16 * 1024
SESSION_SECONDS = 12 * 3600

# Says whether a presented token has the ``admin`` scope.
AdminTokenCheck = Callable[[str], bool]


class FormRefused(Exception):
    """The form is too large, malformed, or its CSRF token does not match."""


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser: its cookie, or a new one (set by ``keep_csrf``)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and len(existing) >= 32:
        return existing
    token: str = request.scope.setdefault("omniroute.csrf", secrets.token_urlsafe(32))
    return token


def keep_csrf(request: Request, response: Response, secure: bool) -> None:
    """Set the CSRF cookie when this request made a new token."""
    new = request.scope.get("omniroute.csrf")
    if new is not None:
        response.set_cookie(
            CSRF_COOKIE, new, httponly=True, samesite="strict", secure=secure, path=COOKIE_PATH
        )


def sign_in(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=secure,
        path=COOKIE_PATH,
    )


def sign_out(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)


async def checked_form(request: Request) -> dict[str, str]:
    """The url-encoded form of a POST, once its size and CSRF token are verified."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormRefused("the form is too large")
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=False, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormRefused(f"the form cannot be read: {exc}") from None
    form = {name: values[-1] for name, values in fields.items()}
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise FormRefused("the form's CSRF token does not match; reload the page and try again")
    return form
