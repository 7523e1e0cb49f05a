"""The worker process's one HTTP client, for the HTTP desks and Twilio media downloads."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx


class SharedClient:
    """A worker process's one ``httpx.Client``, made when first asked for and then shared
    by every thread.

    httpx itself is imported then: it and its TLS context (the CA bundle, about 6 MiB)
    are for the HTTP desks and Twilio media downloads, which many deployments never use.
    """

    def __init__(self) -> None:
        self._client: httpx.Client | None = None
        self._making = threading.Lock()

    def __call__(self) -> httpx.Client:
        client = self._client
        if client is None:
            with self._making:
                client = self._client
                if client is None:
                    import httpx

                    client = self._client = httpx.Client(follow_redirects=False)
        return client

    @property
    def made(self) -> bool:
        return self._client is not None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
