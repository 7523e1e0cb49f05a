"""Blobs as files under one directory: the embedded default, or a directory all hosts mount."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ingest.blobs import BlobMissing, BlobUnavailable


class LocalBlobStore:
    def __init__(self, root: Path, *, shared: bool) -> None:
        self.root = root
        self._shared = shared

    @property
    def location(self) -> str:
        return f"file://{self.root.resolve()}"

    @property
    def shared(self) -> bool:
        return self._shared

    def path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in {"", ".", ".."} for part in parts):
            raise ValueError(f"not a blob key: {key!r}")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes) -> None:
        path = self.path(key)
        try:
            # Written aside, then renamed in: a reader never sees half a blob. The
            # folder is made when it is missing, not checked on every write.
            try:
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            except FileNotFoundError:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError as exc:
            raise BlobUnavailable(f"cannot write {key} under {self.root}: {exc}") from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise BlobUnavailable(f"cannot write {key} under {self.root}: {exc}") from exc
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        path = self.path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise BlobMissing(f"{key} is not under {self.location}") from None
        except OSError as exc:
            raise BlobUnavailable(f"cannot read {key} under {self.root}: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def keys(self, prefix: str) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key
