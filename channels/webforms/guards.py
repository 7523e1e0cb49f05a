"""The abuse guards of a form post, as one pure check: honeypot, form token, time trap,
and the Origin/Referer of a cross-site post.

Each refusal has a stable reason (the label of its metric and of ``omniroute forms
refused``) and a sentence the sender can read.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from normalize.form_tokens import form_token_issued

HONEYPOT = "honeypot"
TIME_TRAP = "time-trap"
BAD_TOKEN = "bad-token"  # noqa: S105 (a reason, not a secret)
EXPIRED_TOKEN = "expired-token"  # noqa: S105 (a reason, not a secret)
ORIGIN = "origin"
RATE_LIMIT = "rate-limit"


@dataclass(frozen=True, slots=True)
class Caught:
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Post:
    """What the guards look at."""

    form: str
    token: str
    honeypot: str
    origin: str | None  # the Origin header, else the origin of the Referer
    own_host: str  # the Host the form was served from (a proxy may change the scheme)
    now: int


def check_post(
    post: Post,
    *,
    secret: bytes,
    allowed_origins: tuple[str, ...],
    min_seconds: float,
    max_age_seconds: int,
) -> Caught | None:
    own = post.origin is not None and urlsplit(post.origin).netloc == post.own_host.lower()
    if post.origin is not None and not own and post.origin not in allowed_origins:
        return Caught(ORIGIN, f"posted from {post.origin}, which may not post this form")
    if post.honeypot.strip():
        return Caught(HONEYPOT, "the hidden field meant for robots was filled in")
    issued = form_token_issued(secret, post.token, post.form) if post.token else None
    if issued is None:
        return Caught(BAD_TOKEN, "the form token is missing or not one we issued")
    age = post.now - issued
    if age > max_age_seconds:
        return Caught(
            EXPIRED_TOKEN, f"the form was loaded {age} s ago; it expires after {max_age_seconds} s"
        )
    if age < min_seconds:
        return Caught(
            TIME_TRAP,
            f"sent {max(age, 0)} s after the form was loaded (at least {min_seconds:g} s)",
        )
    return None


def origin_of(origin_header: str | None, referer: str | None) -> str | None:
    """The Origin header, else the scheme and host of the Referer; None when neither is sent."""
    if origin_header and origin_header != "null":
        return origin_header.rstrip("/").lower()
    if referer:
        parts = urlsplit(referer)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}".lower()
    if origin_header == "null":
        return "null"
    return None
