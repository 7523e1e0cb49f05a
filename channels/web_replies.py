"""``POST /api/tickets/{number}/replies``: an agent answers the customer.

Reached only with a ``tickets:reply`` token (:mod:`channels.auth`). The edge bounds
the request (``MAX_REQUEST_BYTES``), validates it with
:class:`ingest.agent_reply.ReplyRequest`, checks the author against the token
(:func:`ingest.reply_author.token_author`) and stores it, with the token's name, in
one transaction; the ``send_reply`` worker sends it. Answers: ``201`` with the
stored reply, ``400`` with the problems for bad input, ``422`` for an author unfit
for a mail header (control characters, line breaks, angle brackets, quotes, too
long) or missing when the token must name one, or for a ``channel`` the customer
cannot be answered on, ``403`` for an author the token may
not sign as, ``404`` for an unknown ticket, ``413`` over the size limit, ``503``
(with ``Retry-After``) when the store is down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ingest.agent_reply import (
    ReplyRefused,
    ReplyRequest,
    problems,
    record_reply,
    reply_view,
)
from ingest.db import unit_of_work
from ingest.errors import StoreUnavailable
from ingest.reply_author import AuthorNotAllowed, UnsafeAuthor, token_author
from ingest.tokens import Caller

# Checked before parsing: the longest allowed reply fits, as UTF-8 or with every
# character of the Basic Multilingual Plane escaped as \uXXXX.
MAX_REQUEST_BYTES = 512 * 1024
RETRY_AFTER_SECONDS = "5"


def reply_endpoint(
    sessions: sessionmaker[Session], on_work: Callable[[], None] | None = None
) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint; ``on_work`` is called once the reply and its work are committed."""

    async def replies(request: Request) -> Response:
        caller: Caller | None = getattr(request.state, "caller", None)
        if caller is None:
            # Only ever served behind the token gate; without a caller it fails closed.
            return _error(401, "a bearer token is required")
        try:
            number = int(request.path_params["number"])
        except ValueError:
            return _error(400, "ticket number must be an integer")
        raw = await _read_bounded(request, MAX_REQUEST_BYTES)
        if raw is None:
            return _error(413, f"request body exceeds {MAX_REQUEST_BYTES} bytes")
        try:
            reply = ReplyRequest.model_validate_json(raw)
        except ValidationError as exc:
            found = problems(exc)
            summary = "; ".join(f"{p['field']}: {p['problem']}" for p in found)
            return _error(400, f"invalid reply: {summary}", problems=found)
        try:
            author = token_author(reply.author, caller.name, caller.authors)
        except UnsafeAuthor as exc:
            problem = {"field": "author", "problem": exc.problem}
            return _error(422, f"invalid reply: {exc}", problems=[problem])
        except AuthorNotAllowed as exc:
            return _error(403, str(exc))
        reply = reply.model_copy(update={"author": author})

        def store() -> dict[str, Any] | None:
            with unit_of_work(sessions) as session:
                message = record_reply(session, number, reply, token_name=caller.name)
                return None if message is None else reply_view(message, message.ticket)

        try:
            view = await asyncio.to_thread(store)
        except ReplyRefused as exc:
            return _error(422, str(exc))
        except StoreUnavailable:
            response = _error(503, "the store is unavailable, try again later")
            response.headers["Retry-After"] = RETRY_AFTER_SECONDS
            return response
        if view is None:
            return _error(404, f"no ticket #{number}")
        if on_work is not None:
            on_work()
        return JSONResponse(view, status_code=201, headers={"Location": f"/api/tickets/{number}"})

    return replies


async def _read_bounded(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is longer than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, error: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, **extra}, status_code=status)
