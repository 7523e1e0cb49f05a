"""One bounded HTTP request, its answer classified by fault, for the HTTP desks (webhook,
Zendesk, Freshdesk).

``request`` never raises for the network: a timeout or a connection problem comes
back as a RETRY :class:`AttemptResult`; an answer comes back as an :class:`Answer`.
``failure`` turns a non-2xx answer into RETRY (408, 425, 429, 5xx, honouring
``Retry-After``) or REJECTED (other 4xx, redirects, which are never followed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from workers.delivery.desks.base import (
    AttemptResult,
    Outcome,
    result,
    retry_after_seconds,
    truncate,
)

USER_AGENT = "omniroute/0.1"
# Statuses that mean "not now": Request Timeout, Too Early, Too Many Requests.
RETRYABLE_4XX = frozenset({408, 425, 429})
# We only look for ids in answers; a receiver cannot make us buffer more than this.
MAX_RESPONSE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer, its body read up to ``MAX_RESPONSE_BYTES``."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


def request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    timeout: float,
    started: float,
    **kwargs: Any,
) -> Answer | AttemptResult:
    """Send one request without following redirects; network faults become RETRY results."""
    try:
        with client.stream(
            method, url, timeout=timeout, follow_redirects=False, **kwargs
        ) as response:
            body = read_bounded(response)
    except httpx.TimeoutException:
        return result(Outcome.RETRY, error=f"timed out after {timeout}s", started=started)
    except httpx.RequestError as exc:
        return result(Outcome.RETRY, error=describe(exc), started=started)
    return Answer(response.status_code, response.headers, body)


def failure(
    answer: Answer,
    *,
    now: int,
    started: float | None,
    who: str = "receiver",
    retryable: frozenset[int] = RETRYABLE_4XX,
) -> AttemptResult:
    """The outcome of a non-2xx answer from ``who`` (named in the error)."""
    status, headers = answer.status, answer.headers
    if 300 <= status < 400:
        location = headers.get("location", "")
        where = f" to {truncate(location)}" if location else ""
        error = f"HTTP {status} from {who}: redirects are not followed{where}"
        return result(Outcome.REJECTED, status=status, error=error, started=started)
    error = f"HTTP {status} from {who}"
    snippet = truncate(answer.body.decode("utf-8", errors="replace"))
    if snippet:
        error = f"{error}: {snippet}"
    if status in retryable or 500 <= status < 600:
        retry_after = retry_after_seconds(headers.get("retry-after"), now=now)
        return result(
            Outcome.RETRY, status=status, error=error, retry_after=retry_after, started=started
        )
    return result(Outcome.REJECTED, status=status, error=error, started=started)


def read_bounded(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE_BYTES:
            break
    return b"".join(chunks)[:MAX_RESPONSE_BYTES]


def describe(exc: httpx.RequestError) -> str:
    detail = str(exc) or type(exc).__name__
    kind = "connection failed" if isinstance(exc, httpx.ConnectError) else "transport error"
    return f"{kind}: {truncate(detail)}"


def json_field(document: Any, key: str) -> Any:
    """``document[key]`` when ``document`` is a JSON object, else None."""
    return document.get(key) if isinstance(document, dict) else None


def json_id(document: Any) -> int | None:
    """The integer ``id`` of a JSON object, else None."""
    value = json_field(document, "id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class DeskApi:
    """Authenticated, bounded calls to one desk's REST API for one attempt; any failure
    comes back as an AttemptResult classified by fault."""

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        auth: httpx.Auth,
        *,
        timeout: float,
        now: int,
        who: str,
        retryable: frozenset[int] = RETRYABLE_4XX,
    ) -> None:
        self.client = client
        self.base = base_url.rstrip("/")
        self.auth = auth
        self.timeout = timeout
        self.now = now
        self.who = who
        self.retryable = retryable
        self.started = time.monotonic()

    def call(self, method: str, path: str, **kwargs: Any) -> Answer | AttemptResult:
        headers = {"User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
        answer = request(
            self.client,
            method,
            self.base + path,
            timeout=self.timeout,
            started=self.started,
            auth=self.auth,
            headers=headers,
            **kwargs,
        )
        if isinstance(answer, AttemptResult) or answer.ok:
            return answer
        return failure(
            answer, now=self.now, started=self.started, who=self.who, retryable=self.retryable
        )

    def delivered(self, external: str) -> AttemptResult:
        return result(Outcome.DELIVERED, status=200, external_id=external, started=self.started)

    def malformed(self, what: str) -> AttemptResult:
        """A 2xx answer without what we need: retried, the desk may answer properly later."""
        return result(
            Outcome.RETRY, error=f"{self.who} answered without {what}", started=self.started
        )
