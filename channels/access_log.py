"""One access line per HTTP request: method, path, status, duration, client.

Written by the app itself (uvicorn's own access log is off) so it goes through the
process's log set-up, as text or JSON with the values as fields. Paths that carry a
secret (the signed follow-up page ``/t/<token>``) are logged without it, and the
query string is left out.
"""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("omniroute.access")
_SECRET_PATHS = re.compile(r"^(/t/)[^/]+")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            path = _SECRET_PATHS.sub(r"\1…", scope.get("path", ""))
            client = scope.get("client")
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            log.info(
                "%s %s %s %.1f ms",
                scope.get("method", "-"),
                path,
                status,
                duration_ms,
                extra={
                    "http_method": scope.get("method"),
                    "http_path": path,
                    "http_status": status,
                    "duration_ms": duration_ms,
                    "client": client[0] if client else None,
                },
            )
