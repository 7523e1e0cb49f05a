"""The blob store behaves the same on a directory and on S3-compatible storage."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from ingest.blobs import (
    BlobMissing,
    BlobStore,
    BlobUnavailable,
    attachment_key,
    host_local_warning,
    open_blob_store,
    put_once,
)
from ingest.blobs.s3 import S3BlobStore
from tests.integration.support import free_port
from tests.s3_server import S3Bucket


@pytest.fixture(params=["directory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "directory":
        return open_blob_store(f"file://{tmp_path / 'shared'}", tmp_path / "data")
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    return open_blob_store(bucket.url(), tmp_path / "data", endpoint_url=bucket.endpoint)


def test_a_blob_written_is_read_back_by_its_key(store: BlobStore) -> None:
    # Given an attachment's bytes stored under its content key
    key = attachment_key("ab" * 32)
    store.put(key, b"%PDF-1.4 invoice")
    # When it is read back
    # Then the same bytes come back, and the key is listed
    assert store.get(key) == b"%PDF-1.4 invoice"
    assert store.exists(key)
    assert list(store.keys("attachments/")) == [key]


def test_a_missing_blob_is_reported_as_missing(store: BlobStore) -> None:
    # Given an empty store
    # When a key never written is read
    # Then it is reported missing, naming the key
    with pytest.raises(BlobMissing, match="attachments/cd"):
        store.get(attachment_key("cd" * 32))
    assert not store.exists(attachment_key("cd" * 32))


def test_content_addressed_blobs_are_written_once(store: BlobStore) -> None:
    # Given a blob already stored
    key = attachment_key("ef" * 32)
    put_once(store, key, b"first")
    # When the same key is stored again (an ingest that runs twice)
    put_once(store, key, b"second")
    # Then the first write stands
    assert store.get(key) == b"first"


def test_an_unreachable_s3_endpoint_is_reported_as_unavailable(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    # Given a store whose endpoint nothing listens on
    store = S3BlobStore(s3_bucket.name, "blobs", endpoint_url=f"http://127.0.0.1:{free_port()}")
    # When a blob is written and read
    # Then both say the store is unavailable (a transient fault), naming the store
    with pytest.raises(BlobUnavailable, match=f"s3://{s3_bucket.name}/blobs/"):
        store.put("sent-mail/x.eml", b"x")
    with pytest.raises(BlobUnavailable):
        store.get("sent-mail/x.eml")


def test_s3_keys_live_under_the_prefix_of_the_url(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    # Given a store on s3://bucket/omniroute/prod
    store = open_blob_store(
        s3_bucket.url("omniroute/prod"), tmp_path, endpoint_url=s3_bucket.endpoint
    )
    # When a blob is stored
    store.put("sent-mail/a.eml", b"mail")
    # Then the object sits under the prefix
    assert s3_bucket.objects() == {"omniroute/prod/sent-mail/a.eml": b"mail"}


def test_keys_cannot_leave_the_directory(tmp_path: Path) -> None:
    store = open_blob_store(None, tmp_path)
    with pytest.raises(ValueError, match="not a blob key"):
        store.put("../outside", b"x")


def test_a_server_database_without_a_blob_url_is_warned_about(tmp_path: Path) -> None:
    # Given a deployment on PostgreSQL with no blob URL
    settings = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://db/omniroute")
    store = open_blob_store(settings.blob_url, settings.data_dir)
    # When a role starts
    # Then it says attachments are host-local and what to set
    warning = host_local_warning(settings, store)
    assert warning is not None
    assert "host-local" in warning and "OMNIROUTE_BLOB_URL" in warning


@pytest.mark.parametrize(
    ("database_url", "blob_url"),
    [
        (None, None),
        ("postgresql+psycopg://db/omniroute", "file:///srv/omniroute/blobs"),
        ("postgresql+psycopg://db/omniroute", "s3://bucket/prefix"),
    ],
)
def test_no_warning_on_one_host_or_with_a_shared_store(
    tmp_path: Path, database_url: str | None, blob_url: str | None
) -> None:
    # Given one host (SQLite), or a server database with a store every host reaches
    settings = Settings(data_dir=tmp_path, database_url=database_url, blob_url=blob_url)
    store = open_blob_store(settings.blob_url, settings.data_dir)
    # When a role starts
    # Then it has nothing to warn about
    assert host_local_warning(settings, store) is None
