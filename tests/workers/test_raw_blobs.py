"""Large raw inputs live in the blob store: accepted over SMTP, ingested, failed, replayed.

The row keeps the blob's key and a head for listings; small mail stays in the row.
"""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.blobs import BlobUnavailable, blob_store_for
from ingest.blobs.local import LocalBlobStore
from ingest.db import unit_of_work
from ingest.failures import inbound_view, retry_failed
from ingest.models import Attachment, FailedWork, InboundRecord, Message, Ticket
from ingest.raw_inputs import HEAD_BYTES, RawSpill, raw_key
from tests.edge import accept_mail
from tests.harness import Pipeline
from tests.mail import customer_mail, wire
from tests.s3_server import S3Bucket
from tests.servers import smtp_edge, wait_until
from tests.stack import running_stack

LOGS = bytes(range(256)) * 800  # 200 KiB: past the 64 KiB threshold once encoded


def large_mail(subject: str = "Logs attached") -> EmailMessage:
    mail = customer_mail(subject=subject)
    mail.add_attachment(LOGS, maintype="application", subtype="octet-stream", filename="logs.bin")
    return mail


def records(sessions: sessionmaker[Session]) -> list[InboundRecord]:
    with sessions() as session:
        return list(session.execute(select(InboundRecord).order_by(InboundRecord.id)).scalars())


def ticket_attachments(sessions: sessionmaker[Session]) -> list[tuple[str, int]]:
    with sessions() as session:
        return [
            (a.filename, a.size)
            for a in session.execute(select(Attachment).join(Message).join(Ticket)).scalars()
        ]


def blocked(settings: Settings, tmp_path: Path) -> Settings:
    """A blob store that cannot take a write: its directory is a regular file."""
    wall = tmp_path / "not-a-directory"
    wall.write_bytes(b"")
    return settings.model_copy(update={"blob_url": f"file://{wall}"})


@pytest.mark.integration
def test_a_large_mail_over_smtp_is_kept_in_the_blob_store_and_becomes_a_ticket(
    settings: Settings, sessions: sessionmaker[Session], broker_url: str
) -> None:
    with running_stack(settings, sessions, broker_url) as stack:
        # When a customer mails a large log file, and then a short note
        with smtplib.SMTP("127.0.0.1", stack.smtp_port) as client:
            client.send_message(large_mail())
            client.send_message(customer_mail(subject="A short note"))
        wait_until(
            lambda: [r.status for r in records(sessions)] == ["processed", "processed"],
            what="both mails ingested",
        )
    large, small = records(sessions)
    # Then the large mail's bytes are a content-addressed blob; the row keeps the key and a head
    assert large.raw_blob is not None and large.raw_size is not None
    whole = blob_store_for(settings).get(large.raw_blob)
    assert large.raw_blob == raw_key(hashlib.sha256(whole).hexdigest())
    assert (settings.data_dir / large.raw_blob).is_file()
    assert large.raw_size == len(whole) > settings.raw_blob_threshold_bytes
    assert large.raw == whole[:HEAD_BYTES]
    assert inbound_view(large)["subject"] == "Logs attached"
    assert inbound_view(large)["size"] == len(whole)
    # And it became a ticket with its attachment
    assert ticket_attachments(sessions) == [("logs.bin", len(LOGS))]
    # And the short note stayed in its row: no blob write for it
    assert (small.raw_blob, small.raw_size) == (None, None)
    assert b"A short note" in small.raw


def test_the_s3_store_holds_the_raw_of_a_large_mail(
    settings: Settings, sessions: sessionmaker[Session], s3_bucket: S3Bucket
) -> None:
    # Given an edge and a worker sharing an S3 blob store
    settings = settings.model_copy(
        update={"blob_url": s3_bucket.url(), "blob_endpoint_url": s3_bucket.endpoint}
    )
    raw = wire(large_mail())
    # When a large mail arrives
    with (
        smtp_edge(sessions, spill=RawSpill.for_settings(settings)) as (_, port),
        smtplib.SMTP("127.0.0.1", port) as client,
    ):
        client.sendmail("jane@customer.test", ["support@example.com"], raw)
    pipe = Pipeline(settings, sessions)
    try:
        pipe.drain()
    finally:
        pipe.close()
    # Then its bytes are an object in the bucket, and the worker made the ticket from them
    [record] = records(sessions)
    assert record.status == "processed"
    assert s3_bucket.objects("blobs/raw/") == {f"blobs/{record.raw_blob}": raw}
    assert ticket_attachments(sessions) == [("logs.bin", len(LOGS))]
    assert not (settings.data_dir / "raw").exists()


def test_a_blob_store_that_cannot_write_answers_451_and_stores_nothing(
    settings: Settings, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # Given an edge whose blob store cannot take a write
    spill = RawSpill.for_settings(blocked(settings, tmp_path))
    with smtp_edge(sessions, spill=spill) as (_, port), smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo()
        client.mail("jane@customer.test")
        client.rcpt("support@example.com")
        # When a large mail arrives
        code, reply = client.data(wire(large_mail()))
        # Then the sender is told to retry later, and no row was made
        assert code == 451
        assert reply == b"4.3.0 Temporary failure storing the message, try again later"
        assert records(sessions) == []
        # And a small mail, which needs no blob, is still accepted
        client.rset()
        refused = client.sendmail(
            "jane@customer.test", ["support@example.com"], wire(customer_mail())
        )
    assert refused == {}
    [record] = records(sessions)
    assert record.raw_blob is None


def accept_large(settings: Settings, sessions: sessionmaker[Session]) -> tuple[int, bytes]:
    raw = wire(large_mail())
    accepted = accept_mail(sessions, raw, RawSpill.for_settings(settings))
    return accepted.inbound_id, raw


@pytest.mark.failed_work
def test_a_missing_blob_fails_the_ingest_with_its_stage_and_a_replay_makes_the_ticket(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    # Given a large mail accepted, whose blob is then lost
    inbound_id, raw = accept_large(settings, sessions)
    key = raw_key(hashlib.sha256(raw).hexdigest())
    store = blob_store_for(settings)
    assert isinstance(store, LocalBlobStore)
    store.path(key).unlink()
    pipe = Pipeline(settings, sessions)
    try:
        # When the worker ingests it
        pipe.drain()
        # Then the record is failed (our fault, not the sender's) with the stage and the key
        [record] = records(sessions)
        assert record.status == "failed"
        assert record.status_reason is not None
        assert record.status_reason.startswith("ingest: BlobMissing")
        assert key in record.status_reason
        with sessions() as session:
            failure = session.execute(select(FailedWork)).scalar_one()
        assert (failure.stage, failure.payload) == ("ingest", {"inbound_id": inbound_id})
        # When the blob is back and the failure is retried
        store.put(key, raw)
        with unit_of_work(sessions) as session:
            retry_failed(session, failure.id)
        pipe.drain()
    finally:
        pipe.close()
    # Then the mail is a ticket with its attachment
    [record] = records(sessions)
    assert record.status == "processed"
    assert ticket_attachments(sessions) == [("logs.bin", len(LOGS))]


def test_a_blob_store_briefly_down_in_the_worker_is_retried(
    settings: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a large mail accepted, and a blob store whose first read fails
    accept_large(settings, sessions)
    reads: list[str] = []
    real_get = LocalBlobStore.get

    def flaky(self: LocalBlobStore, key: str) -> bytes:
        reads.append(key)
        if len(reads) == 1:
            raise BlobUnavailable(f"cannot read {key}: connection reset")
        return real_get(self, key)

    monkeypatch.setattr(LocalBlobStore, "get", flaky)
    pipe = Pipeline(settings, sessions)
    try:
        # When the worker ingests it
        pipe.drain()
    finally:
        pipe.close()
    # Then the read was tried again and the ticket made; no failure was recorded
    assert len(reads) >= 2
    [record] = records(sessions)
    assert record.status == "processed"
    assert ticket_attachments(sessions) == [("logs.bin", len(LOGS))]
