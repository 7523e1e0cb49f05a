"""skops bytes in a canonical form, so the same fitted model always gives the same bytes.

skops names the arrays it stores and the objects it memoizes by ``id()`` and stamps
each archive member with the time it was written, so two dumps of one model differ
byte for byte, and with them the model's version (the sha256 of those bytes). Here
the ids become 1, 2, 3... in the order the schema first names them (the loader only
matches them with each other; 0 would read as "no id"), the array files are named
after their place in the schema, and every member gets one fixed timestamp. What
the schema says is unchanged otherwise, so skops loads the result as it loads its own.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import PurePosixPath
from typing import Any

SCHEMA = "schema.json"
# A fixed timestamp keeps the bytes a function of the model alone.
EPOCH = (1980, 1, 1, 0, 0, 0)


def canonical_skops(payload: bytes) -> bytes:
    """``payload`` (a skops file) with stable ids, file names and timestamps."""
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        schema: Any = json.loads(archive.read(SCHEMA))
        files = {name: archive.read(name) for name in archive.namelist() if name != SCHEMA}
    ids: dict[int, int] = {}
    names: dict[str, str] = {}

    def rename(name: str) -> str:
        return names.setdefault(name, f"{len(names) + 1}{PurePosixPath(name).suffix}")

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    node[key] = ids.setdefault(value, len(ids) + 1)
                elif key == "file" and isinstance(value, str) and value in files:
                    node[key] = rename(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)
    if set(names) != set(files):
        unnamed = sorted(set(files) - set(names))
        raise ValueError(f"skops file holds members its schema never names: {unnamed}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_member(SCHEMA), json.dumps(schema, indent=2))
        for old, new in sorted(names.items(), key=lambda pair: int(PurePosixPath(pair[1]).stem)):
            archive.writestr(_member(new), files[old])
    return buffer.getvalue()


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
