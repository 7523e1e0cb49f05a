"""A large web-form post keeps its bytes in the blob store: accepted, refused and released."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.blobs import blob_store_for
from ingest.form_refusals import release
from ingest.models import Attachment, FormRefusal, InboundRecord, Ticket
from tests.channels.webforms.support import JSON, FormSite, contact, form_site, stored
from tests.harness import Pipeline

SCAN = b"%PDF-1.4 " + bytes(range(256)) * 400  # 100 KiB: past the 64 KiB threshold


def files() -> dict[str, tuple[str, bytes, str]]:
    return {"attachments": ("scan.pdf", SCAN, "application/pdf")}


def test_a_large_post_with_an_attachment_is_kept_in_the_blob_store_and_makes_a_ticket(
    site: FormSite, sessions: sessionmaker[Session], settings: Settings
) -> None:
    # When the customer posts the form with a large scan
    response = site.http.post(
        "/forms/contact", data={**site.fresh(), **contact()}, files=files(), headers=JSON
    )
    # Then it is a ticket with the scan
    assert response.status_code == 201
    with sessions() as session:
        record = session.execute(select(InboundRecord)).scalar_one()
        attachment = session.execute(select(Attachment)).scalar_one()
        assert record.status == "processed"
        assert (attachment.filename, attachment.size) == ("scan.pdf", len(SCAN))
    # And the submission's bytes are a blob; the row keeps the key, not the bytes
    assert record.raw_blob is not None and record.raw_size is not None
    assert record.raw_size > settings.raw_blob_threshold_bytes > len(record.raw)
    assert len(blob_store_for(settings).get(record.raw_blob)) == record.raw_size


def test_a_large_post_is_503_and_nothing_is_stored_when_the_blob_store_cannot_write(
    sessions: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    # Given a web process whose blob store cannot take a write
    wall = tmp_path / "not-a-directory"
    wall.write_bytes(b"")
    down = settings.model_copy(update={"blob_url": f"file://{wall}"})
    with form_site(sessions, down) as site:
        # When the customer posts a large scan
        response = site.http.post(
            "/forms/contact", data={**site.fresh(), **contact()}, files=files(), headers=JSON
        )
        # And a bot posts one into the honeypot
        refused = site.http.post(
            "/forms/contact",
            data={**site.fresh(), **contact(website="http://spam.example")},
            files=files(),
            headers=JSON,
        )
    # Then both are told to try again later, and nothing half-made is in the store
    assert response.status_code == refused.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert stored(sessions) == (0, 0, 0, 0)


def test_a_large_refused_post_is_kept_in_the_blob_store_and_released_into_a_ticket(
    site: FormSite, sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given a large post caught by the honeypot (an autofilling browser)
    response = site.http.post(
        "/forms/contact",
        data={**site.fresh(), **contact(website="autofilled")},
        files=files(),
        headers=JSON,
    )
    assert response.status_code == 400
    with sessions() as session:
        refusal = session.execute(select(FormRefusal)).scalar_one()
    assert refusal.raw_blob is not None and refusal.raw_size is not None
    # When it is released and the workers run
    pipe = Pipeline(settings, sessions)
    try:
        release(sessions, refusal.id, blob_store_for(settings))
        pipe.drain()
    finally:
        pipe.close()
    # Then it is a ticket with the scan, read from the same blob
    with sessions() as session:
        ticket = session.execute(select(Ticket)).scalar_one()
        record = session.execute(select(InboundRecord)).scalar_one()
        attachment = session.execute(select(Attachment)).scalar_one()
    assert (ticket.channel, ticket.subject) == ("web", "Cannot log in")
    assert record.raw_blob == refusal.raw_blob
    assert (attachment.filename, attachment.size) == ("scan.pdf", len(SCAN))
