"""Blob storage every host of a deployment shares: attachments and stored outbound mail.

Blobs are named by keys (``attachments/ab/cd/<sha256>``, ``sent-mail/<name>.eml``);
content-addressed blobs are written once, so a second write of the same key is a no-op.
Backends, one per file:

- ``local.py``  a directory (the embedded default, or ``file:///shared/dir``)
- ``s3.py``     S3-compatible object storage (``s3://bucket/prefix``)

Errors::

    BlobError
    ├── BlobMissing       the key is not in the store (a bug or a lost file: not retried
    │                     by the store itself, but a hand-off records it and retries)
    └── BlobUnavailable   the store could not be reached now (transient)
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from config.settings import Settings


class BlobError(Exception):
    """A blob could not be read or written."""


class BlobMissing(BlobError):
    """No blob is stored under the key."""


class BlobUnavailable(BlobError):
    """The store did not answer; try again later."""


class BlobStore(Protocol):
    """Where blobs live; every backend behaves the same to its callers."""

    @property
    def location(self) -> str:
        """Where the blobs are, for start-up lines and errors (no credentials)."""
        ...

    @property
    def shared(self) -> bool:
        """True when every host of the deployment reads the same blobs."""
        ...

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``; raises ``BlobUnavailable``."""
        ...

    def get(self, key: str) -> bytes:
        """The blob under ``key``; raises ``BlobMissing`` or ``BlobUnavailable``."""
        ...

    def exists(self, key: str) -> bool: ...

    def keys(self, prefix: str) -> Iterator[str]:
        """Every key that starts with ``prefix``, in no particular order."""
        ...


def attachment_key(sha256: str) -> str:
    """The key of an attachment's content (spread over two directory levels)."""
    return f"attachments/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def put_once(store: BlobStore, key: str, data: bytes) -> None:
    """Write a content-addressed blob unless it is already there."""
    if not store.exists(key):
        store.put(key, data)


def open_blob_store(
    url: str | None, data_dir: Path, *, endpoint_url: str | None = None
) -> BlobStore:
    """The store ``url`` names; unset, a directory under ``data_dir`` on this host only."""
    from ingest.blobs.local import LocalBlobStore

    if url is None:
        return LocalBlobStore(data_dir, shared=False)
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalBlobStore(Path(unquote(parts.path)), shared=True)
    if parts.scheme == "s3":
        from ingest.blobs.s3 import S3BlobStore

        return S3BlobStore(parts.netloc, parts.path.strip("/"), endpoint_url=endpoint_url)
    raise ValueError(f"unknown blob store scheme in {url!r} (file:/// or s3://)")


def blob_store_for(settings: Settings) -> BlobStore:
    """The store a process with ``settings`` uses (one per process and location)."""
    return _cached_store(settings.blob_url, settings.data_dir, settings.blob_endpoint_url)


@functools.lru_cache(maxsize=8)
def _cached_store(url: str | None, data_dir: Path, endpoint_url: str | None) -> BlobStore:
    return open_blob_store(url, data_dir, endpoint_url=endpoint_url)


def host_local_warning(settings: Settings, store: BlobStore) -> str | None:
    """What a role says at start-up when other hosts cannot read this host's blobs."""
    if store.shared or not settings.uses_server_database:
        return None
    return (
        f"attachments and stored mail are host-local ({store.location}): other hosts "
        "cannot read them; set OMNIROUTE_BLOB_URL to s3://bucket/prefix or to a "
        "file:/// directory every host mounts"
    )
