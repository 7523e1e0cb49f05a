"""One ``twilio`` REST client per configured account, pointed at ``OMNIROUTE_TWILIO_API_URL``.

Production leaves the URL at Twilio's; tests point it at a local fake that speaks
the same API, so the real client library is what they drive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from config.twilio import TwilioCredentials

if TYPE_CHECKING:
    from twilio.rest import Client  # type: ignore[import-untyped]

# Twilio answers within seconds or not at all; a send that hangs is retried later.
TIMEOUT_SECONDS = 15.0
# Where Twilio serves MMS and WhatsApp media (and redirects media requests to).
TWILIO_MEDIA_HOSTS = ("api.twilio.com", "media.twiliocdn.com", "mms.twiliocdn.com")
TWILIO_MEDIA_SUFFIXES = (".twiliocdn.com", ".twilio.com")


def client_for(account: TwilioCredentials, api_url: str) -> Client:
    # Imported when a client is made: the REST client and the ``requests`` stack under it
    # are several MiB a worker without Twilio accounts need not carry.
    from twilio.http.http_client import TwilioHttpClient  # type: ignore[import-untyped]
    from twilio.rest import Client

    client = Client(
        account.account_sid,
        account.auth_token,
        http_client=TwilioHttpClient(timeout=TIMEOUT_SECONDS),
    )
    client.api.base_url = api_url.rstrip("/")
    return client


def account_for(
    accounts: Sequence[TwilioCredentials], our_number: str | None, account_sid: str | None = None
) -> TwilioCredentials | None:
    """The account a conversation belongs to: named by SID, owning the number, else the first
    account with a Messaging Service (a pool number need not be listed), else the only one."""
    if account_sid:
        named = next((a for a in accounts if a.account_sid == account_sid), None)
        if named is not None:
            return named
    if our_number:
        owner = next((a for a in accounts if a.owns(our_number)), None)
        if owner is not None:
            return owner
    pooled = next((a for a in accounts if a.messaging_service is not None), None)
    return pooled or (accounts[0] if accounts else None)


def is_media_host(url: str, api_url: str) -> bool:
    """Media is fetched with the account's credentials only from Twilio's hosts (or the
    configured API host); anything else gets neither the credentials nor a request."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    api = urlsplit(api_url)
    if parts.scheme == api.scheme and parts.netloc.lower() == api.netloc.lower():
        return True
    if parts.scheme != "https":
        return False
    return host in TWILIO_MEDIA_HOSTS or host.endswith(TWILIO_MEDIA_SUFFIXES)
