"""Files shared on Slack: downloaded with the bot token, bounded, content-addressed;
Slack's sign-in page instead of a file is refused with the reason."""

from __future__ import annotations

import hashlib

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.blobs import attachment_key, blob_store_for
from ingest.models import Attachment
from tests.channels.slack.api_fake import FakeFile, SlackApiFake
from tests.channels.slack.support import event, post_event
from tests.harness import Pipeline

SCREENSHOT = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def attachments(sessions: sessionmaker[Session]) -> list[Attachment]:
    with sessions() as session:
        return list(session.execute(select(Attachment).order_by(Attachment.id)).scalars())


def share(http: httpx.Client, fake: SlackApiFake, *files: FakeFile) -> None:
    entries = [fake.add_file(f) for f in files]
    post_event(http, event("message.file_share", files=entries))


def test_a_shared_file_is_downloaded_and_stored_by_its_hash(
    http: httpx.Client,
    pipeline: Pipeline,
    sessions: sessionmaker[Session],
    fake: SlackApiFake,
    slack: Settings,
) -> None:
    # Given alice shares a screenshot in her DM
    share(http, fake, FakeFile("F0SHOT", "error.png", "image/png", SCREENSHOT))
    # When the workers run
    pipeline.drain()
    # Then the file is an attachment of her message, stored under its hash
    (attachment,) = attachments(sessions)
    digest = hashlib.sha256(SCREENSHOT).hexdigest()
    assert (attachment.filename, attachment.content_type) == ("error.png", "image/png")
    assert (attachment.size, attachment.sha256, attachment.refused_reason) == (
        len(SCREENSHOT),
        digest,
        None,
    )
    assert blob_store_for(slack).get(attachment_key(digest)) == SCREENSHOT
    # And it was fetched with the bot token
    (download,) = fake.calls("GET", "/files/F0SHOT")
    assert download.header("Authorization") == "Bearer xoxb-test-bot"


def test_slacks_sign_in_page_is_a_refused_attachment(
    http: httpx.Client, pipeline: Pipeline, sessions: sessionmaker[Session], fake: SlackApiFake
) -> None:
    # Given Slack answers the download with its sign-in page (files:read missing)
    share(http, fake, FakeFile("F0PDF", "invoice.pdf", "application/pdf", b"%PDF", True))
    pipeline.drain()
    # Then the attachment is kept as refused, with the reason, and the message is on a ticket
    (attachment,) = attachments(sessions)
    assert attachment.filename == "invoice.pdf"
    assert "sign-in page" in str(attachment.refused_reason)


def test_a_file_over_the_limit_is_refused_without_downloading_it(
    http: httpx.Client, sessions: sessionmaker[Session], fake: SlackApiFake, slack: Settings
) -> None:
    # Given a 1 KiB attachment limit and a larger file
    small = slack.model_copy(update={"max_attachment_bytes": 1024})
    pipe = Pipeline(small, sessions)
    try:
        share(http, fake, FakeFile("F0BIG", "dump.bin", "application/octet-stream", b"x" * 4096))
        pipe.drain()
    finally:
        pipe.close()
    # Then it is described with the reason and never fetched
    (attachment,) = attachments(sessions)
    assert (attachment.size, attachment.refused_reason) == (4096, "attachment exceeds 1024 bytes")
    assert fake.calls("GET", "/files/") == []
