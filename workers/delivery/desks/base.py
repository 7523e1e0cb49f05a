"""What one delivery attempt to another help desk produced, and when to try again.

Nothing here needs an HTTP client: the email and Slack desks use it as well.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum

# 2**62 times any sane base already dwarfs any sane maximum; clamping the exponent keeps
# a runaway attempt counter from overflowing the float arithmetic.
_MAX_EXPONENT = 62
ERROR_BODY_CHARS = 200


class Outcome(StrEnum):
    """How an attempt ended, classified by fault."""

    DELIVERED = "delivered"
    RETRY = "retry"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """One attempt to hand a ticket off; JSON-safe, safe to store as is.

    ``status_code`` is None when no HTTP response arrived. ``error`` is a short,
    human-readable reason for anything but a delivery. ``retry_after_seconds`` is what
    the receiver asked for (``Retry-After``), if anything. ``external_id`` is the
    receiver's ticket id when it told us one.
    """

    outcome: Outcome
    status_code: int | None
    error: str | None
    retry_after_seconds: float | None
    external_id: str | None
    duration_ms: int


def backoff_seconds(
    attempt: int, base: float, maximum: float, retry_after: float | None = None
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 for the first).

    Exponential backoff with full jitter: uniform in ``[0, base * 2**(attempt - 1)]``,
    so retrying workers spread out instead of stampeding a recovering receiver. A
    receiver's ``retry_after`` is a floor; ``maximum`` caps everything, including a
    ``retry_after`` beyond it, so one receiver cannot park a delivery for days.
    """
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt}")
    ceiling = min(maximum, base * 2.0 ** min(attempt - 1, _MAX_EXPONENT))
    delay = random.uniform(0.0, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return max(0.0, min(delay, maximum))


def read_secret(variable: str) -> str | AttemptResult:
    """The secret in environment variable ``variable``, read now so rotation needs no restart.

    A missing or empty variable is our configuration's fault: a REJECTED result that
    names the variable (never its value).
    """
    value = os.environ.get(variable, "")
    if value.strip():
        return value
    return result(Outcome.REJECTED, error=f"secret variable {variable} is not set")


def result(
    outcome: Outcome,
    *,
    status: int | None = None,
    error: str | None = None,
    retry_after: float | None = None,
    external_id: str | None = None,
    started: float | None = None,
) -> AttemptResult:
    """An attempt's result, timed from ``started`` (``time.monotonic()``) when given."""
    duration_ms = 0 if started is None else round((time.monotonic() - started) * 1000)
    return AttemptResult(
        outcome=outcome,
        status_code=status,
        error=error,
        retry_after_seconds=retry_after,
        external_id=external_id,
        duration_ms=duration_ms,
    )


def truncate(text: str, limit: int = ERROR_BODY_CHARS) -> str:
    """``text`` on one line and at most ``limit`` characters, for an attempt's error."""
    text = " ".join(text.split())
    if len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def retry_after_seconds(value: str | None, *, now: int) -> float | None:
    """``Retry-After`` as seconds from ``now``: delay-seconds or an HTTP-date (RFC 9110 10.2.3).

    None when absent or unparseable; a date in the past means "now" (0.0).
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        return None
    return max(0.0, when.timestamp() - now)
