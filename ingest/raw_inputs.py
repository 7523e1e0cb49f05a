"""Raw inputs above a size threshold live in the blob store; their row keeps the key.

The edge writes the blob (content-addressed, ``raw/ab/cd/<sha256>``) before the row
that names it commits, so the durable accept still holds: the sender is answered
only once both are stored. A blob store that cannot take the write is reported as
``StoreUnavailable``, the edge's "try again later", and no row is made. Small input
stays in the row and pays no blob write.

``raw_bytes`` is the one way to read a record's whole input. It raises
``BlobMissing`` (a lost file: the ingest records a failure, replayable once the blob
is back) or ``BlobUnavailable`` (the store is briefly down: the ingest is retried).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ingest.blobs import BlobStore, BlobUnavailable, blob_store_for, put_once
from ingest.envelope import Envelope
from ingest.errors import StoreUnavailable

if TYPE_CHECKING:
    from config.settings import Settings

# What a spilled row keeps inline: enough for a listing's From and Subject.
HEAD_BYTES = 8 * 1024


@dataclass(frozen=True, slots=True)
class RawInput:
    """One input as the edge received it."""

    channel: str
    dedupe_key: str
    raw: bytes
    envelope: Envelope
    # Set once the bytes are in the blob store: ``raw`` is then only their head.
    raw_blob: str | None = None
    raw_size: int | None = None


class HasRaw(Protocol):
    """A row holding a raw input: ``InboundRecord`` and ``FormRefusal``."""

    @property
    def raw(self) -> bytes: ...

    @property
    def raw_blob(self) -> str | None: ...

    @property
    def raw_size(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class RawSpill:
    """Where an edge writes raw input larger than ``threshold`` bytes."""

    store: BlobStore
    threshold: int

    @classmethod
    def for_settings(cls, settings: Settings) -> RawSpill:
        return cls(blob_store_for(settings), settings.raw_blob_threshold_bytes)

    def wants(self, raw: bytes) -> bool:
        return len(raw) > self.threshold


def raw_key(sha256: str) -> str:
    """The key of a raw input's bytes (spread over two directory levels, as attachments)."""
    return f"raw/{sha256[:2]}/{sha256[2:4]}/{sha256}"


@dataclass(frozen=True, slots=True)
class Spilled:
    head: bytes
    blob: str
    size: int


def spill_bytes(raw: bytes, spill: RawSpill) -> Spilled:
    """Write ``raw`` to the blob store; raises ``StoreUnavailable`` when it cannot."""
    key = raw_key(hashlib.sha256(raw).hexdigest())
    try:
        put_once(spill.store, key, raw)
    except BlobUnavailable as exc:
        raise StoreUnavailable(f"blob store cannot take a raw input: {exc}") from exc
    return Spilled(raw[:HEAD_BYTES], key, len(raw))


def spill_input(item: RawInput, spill: RawSpill | None) -> RawInput:
    """``item`` with its bytes in the blob store when it is large; else ``item`` itself."""
    if spill is None or item.raw_blob is not None or not spill.wants(item.raw):
        return item
    spilled = spill_bytes(item.raw, spill)
    return dataclasses.replace(item, raw=spilled.head, raw_blob=spilled.blob, raw_size=spilled.size)


def raw_bytes(row: HasRaw, store: BlobStore) -> bytes:
    """The whole raw input of ``row``, from the row or from the blob store."""
    if row.raw_blob is None:
        return row.raw
    return store.get(row.raw_blob)


def raw_head(row: HasRaw) -> bytes:
    """The start of the input (the whole of a small one), for listings; never reads a blob."""
    return row.raw


def raw_size(row: HasRaw) -> int:
    return row.raw_size if row.raw_size is not None else len(row.raw)
