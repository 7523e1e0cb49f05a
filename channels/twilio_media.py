"""Download the media of an MMS or WhatsApp message into the attachment store.

Twilio requires the account's credentials on media URLs and answers with a
redirect to its CDN; credentials go only to the API host, redirects are
followed only to Twilio's media hosts (or the configured API host), and the
bytes are bounded by the attachment limits while they stream. Each item is
stored content-addressed like an email attachment and listed on the message.

Faults, per item: a refusal for good (too big, not a Twilio host, 4xx) is
recorded on the message with its reason; a transient one (network, 429, 5xx)
is recorded on the item and retried with backoff, and after ``MAX_ATTEMPTS``
becomes a recorded failure. Nothing is dropped without a reason on the message.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from channels.twilio_client import TIMEOUT_SECONDS, is_media_host
from config.settings import Settings
from ingest.blobs import attachment_key, blob_store_for, put_once
from ingest.db import unit_of_work
from ingest.models import Attachment, Message, TwilioMedia, utcnow

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
MAX_ATTEMPTS = 8
# Warnings on the message: one per item while it is retried, replaced by the outcome.
MEDIA_PREFIX = "media {position}: "
RETRYING = "download failed, retrying: "
NOT_STORED = "not stored: "


class MediaRefused(Exception):
    """This item will never download (too big, not Twilio's, gone): recorded, not retried."""


class MediaUnavailable(Exception):
    """This item could not be fetched now: retried with backoff."""


@dataclass(frozen=True, slots=True)
class _Item:
    id: int
    position: int
    url: str
    content_type: str
    account_sid: str


def fetch_media(
    sessions: sessionmaker[Session], settings: Settings, http: httpx.Client, inbound_id: int
) -> int:
    """Fetch every pending media item of inbound record ``inbound_id``; returns how many
    are still waiting for a retry (the caller raises for those)."""
    with unit_of_work(sessions) as session:
        items = [
            _Item(m.id, m.position, m.url, m.content_type, m.account_sid)
            for m in session.execute(
                select(TwilioMedia)
                .where(TwilioMedia.inbound_id == inbound_id, TwilioMedia.status == "pending")
                .order_by(TwilioMedia.position)
            ).scalars()
        ]
    waiting = 0
    for item in items:
        try:
            payload = _download(http, settings, item)
        except MediaRefused as exc:
            _record(sessions, settings, inbound_id, item, payload=None, error=str(exc), final=True)
        except MediaUnavailable as exc:
            waiting += _record(
                sessions, settings, inbound_id, item, payload=None, error=str(exc), final=False
            )
        else:
            _record(sessions, settings, inbound_id, item, payload=payload, error=None, final=True)
    return waiting


def _download(http: httpx.Client, settings: Settings, item: _Item) -> bytes:
    account = next((a for a in settings.twilio if a.account_sid == item.account_sid), None)
    if account is None:
        raise MediaRefused(f"no credentials for Twilio account {item.account_sid!r}")
    api_url = settings.twilio_api_url
    url = item.url
    for _ in range(MAX_REDIRECTS + 1):
        if not is_media_host(url, api_url):
            raise MediaRefused(f"not a Twilio media host: {httpx.URL(url).host}")
        # Credentials go to the API host only, never to the CDN it redirects to.
        api_host = httpx.URL(url).host in ("api.twilio.com", httpx.URL(api_url).host)
        auth = (account.account_sid, account.auth_token) if api_host else None
        try:
            with http.stream("GET", url, auth=auth, timeout=TIMEOUT_SECONDS) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("location", ""))
                    continue
                _check(response)
                return _read_bounded(response, settings.max_attachment_bytes)
        except httpx.TransportError as exc:
            raise MediaUnavailable(f"media fetch failed: {exc}") from exc
    raise MediaRefused(f"more than {MAX_REDIRECTS} redirects")


def _check(response: httpx.Response) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        raise MediaUnavailable(f"Twilio answered {status}")
    if status >= 400:
        raise MediaRefused(f"Twilio answered {status}")


def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise MediaRefused(f"{declared} bytes is over the attachment limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise MediaRefused(f"over the attachment limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _record(
    sessions: sessionmaker[Session],
    settings: Settings,
    inbound_id: int,
    item: _Item,
    *,
    payload: bytes | None,
    error: str | None,
    final: bool,
) -> int:
    """Store the outcome of one attempt; returns 1 when the item waits for a retry."""
    with unit_of_work(sessions) as session:
        media = session.get(TwilioMedia, item.id, with_for_update=True)
        message = session.execute(
            select(Message).where(Message.inbound_id == inbound_id)
        ).scalar_one_or_none()
        if media is None or media.status != "pending":
            return 0
        media.attempts += 1
        media.updated_at = utcnow()
        if message is None:
            media.status, media.error = "failed", "the message was not stored on a ticket"
            return 0
        if payload is not None:
            error = _within_total(session, settings, message, len(payload))
        if payload is not None and error is None:
            sha256 = hashlib.sha256(payload).hexdigest()
            put_once(blob_store_for(settings), attachment_key(sha256), payload)
            attachment = _attachment(message, item, len(payload), sha256, None)
            session.add(attachment)
            session.flush()
            media.status, media.error, media.attachment_id = "stored", None, attachment.id
            _note(message, item.position, None)
            return 0
        assert error is not None
        media.error = error
        if not final and media.attempts < MAX_ATTEMPTS:
            _note(message, item.position, RETRYING + error)
            log.info(
                "media %s of inbound %s waits for a retry: %s", item.position, inbound_id, error
            )
            return 1
        media.status = "failed"
        session.add(_attachment(message, item, 0, "", error))
        _note(message, item.position, NOT_STORED + error)
        log.warning("media %s of inbound %s not stored: %s", item.position, inbound_id, error)
        return 0


def _note(message: Message, position: int, note: str | None) -> None:
    """Replace the message's warning about media ``position`` (None: clear it)."""
    prefix = MEDIA_PREFIX.format(position=position)
    kept = [w for w in message.warnings if not str(w).startswith(prefix)]
    message.warnings = kept if note is None else [*kept, prefix + note]


def _within_total(session: Session, settings: Settings, message: Message, size: int) -> str | None:
    stored = sum(
        session.execute(
            select(Attachment.size).where(
                Attachment.message_id == message.id, Attachment.refused_reason.is_(None)
            )
        ).scalars()
    )
    limit = settings.max_total_attachment_bytes
    if stored + size > limit:
        return f"over the total attachment limit of {limit} bytes for one message"
    return None


def _attachment(
    message: Message, item: _Item, size: int, sha256: str, refused: str | None
) -> Attachment:
    extension = mimetypes.guess_extension(item.content_type.split(";")[0].strip()) or ""
    return Attachment(
        message_id=message.id,
        filename=f"media-{item.position}{extension}",
        content_type=item.content_type,
        size=size,
        sha256=sha256,
        refused_reason=refused,
    )
