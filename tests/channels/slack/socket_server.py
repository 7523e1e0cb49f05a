"""A local WebSocket server speaking Slack's Socket Mode envelope protocol, on loopback.

https://api.slack.com/apis/socket-mode: on connect the server says ``hello``; it sends
``events_api`` envelopes (``envelope_id``, ``payload``, ``retry_attempt``...), and the
app acknowledges each with ``{"envelope_id": ...}``; ``disconnect`` asks the app to
open a new connection (``apps.connections.open`` again). Built on aiohttp's server.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, Self

from aiohttp import WSMsgType, web

from tests.servers import free_port, wait_until


class SocketModeServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.acks: list[str] = []
        self.connections = 0
        self._sockets: list[web.WebSocketResponse] = []
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link/?ticket=local"

    def __enter__(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    # -- driving the app ---------------------------------------------------------------

    def send_event(self, envelope_id: str, payload: dict[str, Any], retry_attempt: int = 0) -> None:
        self._send(
            {
                "envelope_id": envelope_id,
                "payload": payload,
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )

    def disconnect(self) -> None:
        self._send(
            {
                "type": "disconnect",
                "reason": "refresh_requested",
                "debug_info": {"host": "applink-local"},
            }
        )

    def wait_for_ack(self, envelope_id: str) -> None:
        wait_until(lambda: envelope_id in self.acked(), timeout=20, what=f"ack of {envelope_id}")

    def wait_for_connections(self, count: int) -> None:
        wait_until(lambda: self.connections >= count, timeout=20, what=f"{count} connections")

    def acked(self) -> list[str]:
        with self._lock:
            return list(self.acks)

    # -- serving -------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        async def send() -> None:
            await self._sockets[-1].send_str(json.dumps(message))

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(timeout=10)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/link/", self._link)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        with self._lock:
            self.connections += 1
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "applink-local", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": "A0OMNIROUTE"},
                }
            )
        )
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                if "envelope_id" in data:
                    with self._lock:
                        self.acks.append(data["envelope_id"])
        return ws
