"""Bearer tokens on the HTTP app, checked route by route.

Routes that need a token are wrapped one by one (:meth:`TokenGate.protect`); there
is no middleware over every path, because channel webhooks verify their own
signatures and health probes stay open. A request sends
``Authorization: Bearer omr_…``; the gate looks the token up in the store
(:func:`ingest.tokens.authenticate`) and answers, as RFC 6750 asks:

- no token, an unknown or malformed one, or a revoked one: ``401`` with a JSON
  ``error`` and ``WWW-Authenticate: Bearer``;
- a valid token without the route's scope: ``403`` with a JSON ``error`` naming
  the scope (``admin`` has every scope);
- the store down: ``503`` with ``Retry-After`` (it cannot tell, so it lets no one in).

The endpoint then finds the caller on ``request.state.caller``. Pages that log in
another way (a console form) use :meth:`TokenGate.caller` directly.

Errors::

    Refused (Exception)
    ├── Unauthorized   no valid token (401)
    └── Forbidden      a valid token without the scope (403)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channels.edge_metrics import refused
from ingest.db import unit_of_work
from ingest.errors import StoreUnavailable
from ingest.tokens import Caller, authenticate, redact

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
REALM = 'Bearer realm="omniroute"'
RETRY_AFTER_SECONDS = "5"
CHANNEL = "api"  # refusals of API requests are counted under this channel


class Refused(Exception):
    """The request may not go on; ``str()`` says why, for the client."""

    status = 401


class Unauthorized(Refused):
    status = 401


class Forbidden(Refused):
    status = 403

    def __init__(self, message: str, scope: str) -> None:
        super().__init__(message)
        self.scope = scope


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


class TokenGate:
    """Checks bearer tokens against the store; one per app."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    async def caller(self, token: str | None, scope: str) -> Caller:
        """The caller holding ``token``, if it has ``scope``; else ``Unauthorized`` or
        ``Forbidden``. ``StoreUnavailable`` when the store cannot say."""
        if token is None:
            raise Unauthorized("a bearer token is required")
        found, reason = await asyncio.to_thread(self._authenticate, token)
        if found is None:
            log.info("token refused: %s (%s)", reason, redact(token))
            raise Unauthorized(reason)
        if not found.allows(scope):
            log.info("token %r lacks scope %s", found.name, scope)
            raise Forbidden(f"token {found.name!r} lacks the {scope!r} scope", scope)
        return found

    def protect(self, scope: str, endpoint: Endpoint) -> Endpoint:
        """``endpoint``, reached only with a token that has ``scope``."""

        async def guarded(request: Request) -> Response:
            token = bearer_token(request.headers.get("authorization"))
            try:
                request.state.caller = await self.caller(token, scope)
            except Refused as exc:
                refused(CHANNEL, refusal_reason(exc, bad_token=token is not None))
                return refusal(exc, bad_token=token is not None)
            except StoreUnavailable:
                return JSONResponse(
                    {"error": "the store is unavailable, try again later"},
                    status_code=503,
                    headers={"Retry-After": RETRY_AFTER_SECONDS},
                )
            return await endpoint(request)

        return guarded

    def _authenticate(self, token: str) -> tuple[Caller | None, str]:
        with unit_of_work(self.sessions) as session:
            return authenticate(session, token)


def refusal_reason(exc: Refused, *, bad_token: bool) -> str:
    """The reason counted in ``omniroute_refusals_total{channel="api"}``."""
    if isinstance(exc, Forbidden):
        return "insufficient scope"
    return "bad token" if bad_token else "missing token"


def refusal(exc: Refused, *, bad_token: bool) -> JSONResponse:
    """The JSON answer to a refused request, with the RFC 6750 challenge."""
    if isinstance(exc, Forbidden):
        challenge = f'{REALM}, error="insufficient_scope", scope="{exc.scope}"'
    elif bad_token:
        challenge = f'{REALM}, error="invalid_token"'
    else:
        challenge = REALM
    return JSONResponse(
        {"error": str(exc)}, status_code=exc.status, headers={"WWW-Authenticate": challenge}
    )
