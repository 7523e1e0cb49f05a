"""Attachments cross hosts through the blob store; a hand-off never goes without one.

Two workers stand for two hosts: each has its own data directory (its own disk),
and both share the database. One ingests the customer's mail, the other hands the
ticket to Zendesk.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.blobs import BlobUnavailable
from ingest.models import InboundRecord
from tests.integration.support import free_port
from tests.mail import customer_mail
from tests.s3_server import S3Bucket
from tests.workers.desk_support import Desks, rules_with
from tests.workers.zendesk_fake import ZendeskFake
from workers.delivery.planning import TICKET_CREATED

TOKEN_ENV = "OMNIROUTE_TEST_ZENDESK_TOKEN"


@pytest.fixture
def zendesk(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZendeskFake]:
    monkeypatch.setenv(TOKEN_ENV, "zd-token")
    with ZendeskFake(email="agent@acme.test", token="zd-token") as fake:
        yield fake


def host(settings: Settings, name: str, **changes: object) -> Settings:
    """The same deployment seen from another host: its own data directory."""
    return settings.model_copy(update={"data_dir": settings.data_dir / name, **changes})


def two_workers(
    settings: Settings,
    sessions: sessionmaker[Session],
    zendesk: ZendeskFake,
    **changes: object,
) -> tuple[Desks, Desks]:
    rules = rules_with(f"""
  zendesk:
    type: zendesk
    url: {zendesk.url}
    email: agent@acme.test
    token_env: {TOKEN_ENV}
    max_attempts: 3
    timeout_seconds: 1
    backoff_base_seconds: 0.01
""")
    first = Desks(host(settings, "host-a", **changes), sessions, rules)
    second = Desks(host(settings, "host-b", **changes), sessions, rules)
    return first, second


def invoice_mail() -> object:
    mail = customer_mail(subject="Invoice wrong")
    mail.add_attachment(
        b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="inv.pdf"
    )
    return mail


def test_an_attachment_ingested_by_one_worker_is_handed_off_by_the_other(
    settings: Settings,
    sessions: sessionmaker[Session],
    zendesk: ZendeskFake,
    s3_bucket: S3Bucket,
) -> None:
    # Given two workers on two hosts sharing an S3 blob store
    ingesting, delivering = two_workers(
        settings,
        sessions,
        zendesk,
        blob_url=s3_bucket.url(),
        blob_endpoint_url=s3_bucket.endpoint,
    )
    with ingesting, delivering:
        # When the first ingests a mail with a PDF and the second hands the ticket off
        ticket, message = ingesting.ticket(invoice_mail())  # type: ignore[arg-type]
        delivery = delivering.plan(ticket, message, "zendesk", TICKET_CREATED)
        state = delivering.run_until_final(delivery)
    # Then Zendesk got the PDF, and the bytes live in the bucket, not on either disk
    assert state.status == "delivered", state
    [created] = zendesk.tickets.values()
    [attachment] = created["comments"][0]["attachments"]
    assert attachment["content"] == b"%PDF-1.4 invoice"
    assert list(s3_bucket.objects("blobs/attachments/").values()) == [b"%PDF-1.4 invoice"]
    assert not _files(settings.data_dir)


def test_a_hand_off_that_cannot_read_an_attachment_fails_visibly_and_sends_nothing(
    settings: Settings, sessions: sessionmaker[Session], zendesk: ZendeskFake
) -> None:
    # Given two workers whose attachments stay on their own disks (no shared store)
    ingesting, delivering = two_workers(settings, sessions, zendesk)
    with ingesting, delivering:
        ticket, message = ingesting.ticket(invoice_mail())  # type: ignore[arg-type]
        delivery = delivering.plan(ticket, message, "zendesk", TICKET_CREATED)
        # When the other worker tries the hand-off
        first = delivering.run(delivery)
        # Then the attempt failed and is retried, naming the attachment and the store
        assert first == "retrying"
        state = delivering.run_until_final(delivery)
    # And after its attempts the delivery is dead with the reason; Zendesk got nothing
    assert state.status == "dead"
    assert state.outcomes == ["retry", "retry", "retry"]
    assert state.last_error is not None
    assert "attachment 'inv.pdf' cannot be read" in state.last_error
    assert str(settings.data_dir / "host-b") in state.last_error
    assert zendesk.tickets == {}


def test_ingest_is_retried_when_the_blob_store_is_down(
    settings: Settings, sessions: sessionmaker[Session], zendesk: ZendeskFake, s3_bucket: S3Bucket
) -> None:
    # Given a worker whose S3 endpoint does not answer
    down = f"http://127.0.0.1:{free_port()}"
    worker, _ = two_workers(
        settings, sessions, zendesk, blob_url=s3_bucket.url(), blob_endpoint_url=down
    )
    # When it ingests a mail with an attachment
    with worker, pytest.raises(BlobUnavailable):
        worker.receive(invoice_mail())  # type: ignore[arg-type]
    # Then the raw mail stays pending, to be ingested again, and no ticket was made
    with sessions() as session:
        [record] = session.query(InboundRecord).all()
        assert record.status == "pending"


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
