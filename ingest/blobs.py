"""Content-addressed attachment storage under the data directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def blob_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:4] / sha256


def store_blob(root: Path, sha256: str, payload: bytes) -> Path:
    """Write ``payload`` once under its hash; rewriting the same content is a no-op."""
    path = blob_path(root, sha256)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
