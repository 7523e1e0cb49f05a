"""Typed destination settings: where routed tickets are handed off.

A destination is one of several kinds, told apart by ``type`` (a pydantic
discriminated union; ``type`` left out means ``webhook``, as before kinds existed).
Every kind shares the retry settings of :class:`Retrying`. Secrets never live in
the file: each kind names the environment variable that holds its secret, read at
send time, so a rotated secret needs no reload.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    HttpUrl,
    StringConstraints,
    Tag,
)

from config.rule_fields import Strict

_ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

EnvName = Annotated[str, StringConstraints(pattern=_ENV_NAME.pattern, max_length=128)]
TeamGroups = dict[Annotated[str, StringConstraints(min_length=1, max_length=80)], int]
Tags = tuple[Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^,]{1,80}$")], ...]


def _address(value: str) -> str:
    value = value.strip()
    if not _ADDRESS.fullmatch(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _base_url(value: HttpUrl) -> HttpUrl:
    if value.query or value.fragment:
        raise ValueError("the base URL must not carry a query or a fragment")
    return value


class Retrying(Strict):
    """What every destination shares: its name, the per-request timeout and the retries.

    A failed attempt waits ``backoff_base_seconds * 2**(attempt - 1)`` at most (full
    jitter), never more than ``backoff_max_seconds``; after ``max_attempts`` the
    delivery is dead.
    """

    name: str = ""
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_base_seconds: float = Field(default=2.0, gt=0)
    backoff_max_seconds: float = Field(default=600.0, gt=0)


class WebhookDestination(Retrying):
    """POST a signed JSON document to ``url``; the HMAC secret comes from ``secret_env``."""

    type: Literal["webhook"] = "webhook"
    url: HttpUrl
    secret_env: EnvName


class EmailDestination(Retrying):
    """Forward to another desk's inbox ``to``; its answers reach the customer via Reply-To.

    ``attach``: our cover note with the customer's original attached as
    ``message/rfc822``. ``resend``: the original itself, headers kept, with
    ``Resent-*`` headers (RFC 5322 3.6.6) and Reply-To set to the customer.
    """

    type: Literal["email"]
    to: Annotated[str, AfterValidator(_address)]
    mode: Literal["attach", "resend"] = "attach"


class ZendeskDestination(Retrying):
    """Zendesk Tickets API at ``url`` (``https://acme.zendesk.com``), API-token auth."""

    type: Literal["zendesk"]
    url: Annotated[HttpUrl, AfterValidator(_base_url)]
    email: Annotated[str, AfterValidator(_address)]
    token_env: EnvName
    group_ids: TeamGroups = {}
    tags: Tags = ()


class FreshdeskDestination(Retrying):
    """Freshdesk API v2 at ``url`` (``https://acme.freshdesk.com``), API-key auth.

    Follow-ups go in as public notes marked incoming (``note``, the default) or
    through the reply endpoint (``reply``, which Freshdesk sends to the requester).
    """

    type: Literal["freshdesk"]
    url: Annotated[HttpUrl, AfterValidator(_base_url)]
    api_key_env: EnvName
    group_ids: TeamGroups = {}
    tags: Tags = ()
    followups: Literal["note", "reply"] = "note"


class SlackDestination(Retrying):
    """Post to Slack channel ``channel`` (its ID, e.g. ``C0123ABCD``) with a bot token."""

    type: Literal["slack"]
    channel: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,32}$")]
    token_env: EnvName
    base_url: HttpUrl = HttpUrl("https://slack.com/api/")


def _kind(value: Any) -> str:
    """The tag of a destination: its ``type``, ``webhook`` when left out."""
    if isinstance(value, dict):
        kind = value.get("type", "webhook")
        return kind if isinstance(kind, str) else ""
    return str(getattr(value, "type", ""))


Destination = Annotated[
    Annotated[WebhookDestination, Tag("webhook")]
    | Annotated[EmailDestination, Tag("email")]
    | Annotated[ZendeskDestination, Tag("zendesk")]
    | Annotated[FreshdeskDestination, Tag("freshdesk")]
    | Annotated[SlackDestination, Tag("slack")],
    Discriminator(
        _kind,
        custom_error_type="unknown_destination_type",
        custom_error_message="type must be one of webhook, email, zendesk, freshdesk, slack",
    ),
]

KINDS = ("webhook", "email", "zendesk", "freshdesk", "slack")
AnyDestination = (
    WebhookDestination
    | EmailDestination
    | ZendeskDestination
    | FreshdeskDestination
    | SlackDestination
)
