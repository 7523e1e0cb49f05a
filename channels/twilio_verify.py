"""Is this request from Twilio? ``X-Twilio-Signature`` checked with the ``twilio`` library.

Twilio signs the exact URL it called (query string included) plus the sorted
POST parameters with the account's auth token; a JSON body is covered by the
``bodySHA256`` query parameter instead (``RequestValidator`` handles both).
Behind a proxy the URL we see is not the one Twilio called, so it is rebuilt:

1. from ``OMNIROUTE_PUBLIC_URL`` (the base URL Twilio is configured with), else
2. from ``X-Forwarded-Proto`` / ``X-Forwarded-Host`` when the peer is one of
   ``OMNIROUTE_TRUSTED_PROXIES``, else
3. from the request itself.

The account is found by the ``AccountSid`` Twilio sends, never by the number
the customer wrote to, so numbers in a Messaging Service pool verify like any
other (the signature is the account's, not the number's).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import (  # type: ignore[import-untyped]
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from config.twilio import TwilioCredentials

log = logging.getLogger(__name__)

# Why a request failed verification (the metrics label).
MISSING_SIGNATURE = "missing-signature"
UNKNOWN_ACCOUNT = "unknown-account"
BAD_SIGNATURE = "bad-signature"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The account the request is from, or why it is not trusted (``failure``)."""

    account: TwilioCredentials | None
    failure: str | None = None


def signed_url(
    *,
    scheme: str,
    host: str,
    path: str,
    query: str,
    peer: str | None,
    headers: Mapping[str, str],
    public_url: str | None,
    trusted_proxies: Sequence[str],
) -> str:
    """The URL Twilio called, as it signed it."""
    suffix = path + (f"?{query}" if query else "")
    if public_url:
        return public_url.rstrip("/") + suffix
    if peer is not None and is_trusted(peer, trusted_proxies):
        scheme = _first(headers.get("x-forwarded-proto")) or scheme
        host = _first(headers.get("x-forwarded-host")) or host
    return f"{scheme}://{host}{suffix}"


def is_trusted(peer: str, trusted_proxies: Sequence[str]) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for entry in trusted_proxies:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def verify(
    accounts: Sequence[TwilioCredentials],
    *,
    url: str,
    account_sid: str,
    params: ImmutableMultiDict[str, str] | str,
    headers: Mapping[str, str],
) -> Verdict:
    """Check the signature of one request; ``params`` is the form, or the raw JSON body."""
    signature = headers.get(SIGNATURE_HEADER.lower(), "")
    if not signature:
        return Verdict(None, MISSING_SIGNATURE)
    account = next((a for a in accounts if a.account_sid == account_sid), None)
    if account is None:
        return Verdict(None, UNKNOWN_ACCOUNT)
    algorithm = get_signature_algorithm(headers.get(SIGNATURE_SETTINGS_HEADER.lower()))
    validator = RequestValidator(account.auth_token)
    if not validator.validate(url, params, signature, algorithm):
        return Verdict(account, BAD_SIGNATURE)
    return Verdict(account)


def _first(value: str | None) -> str:
    """The first hop of a comma-separated forwarded header (the client-facing proxy's)."""
    return value.split(",")[0].strip() if value else ""
