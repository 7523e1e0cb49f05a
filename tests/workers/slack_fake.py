"""A fake Slack Web API: ``chat.postMessage``, ``conversations.history`` and ``.replies``.

Speaks https://api.slack.com/web : Bearer-token auth (``invalid_auth`` otherwise, with
HTTP 200 as Slack does), arguments as JSON, a form or the query string, messages
with ``thread_ts``, ``reply_broadcast`` and ``metadata`` (returned only when asked
with ``include_all_metadata``). Serve it and point a destination's ``base_url`` at
``fake.base_url``.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from tests.workers.fake_desk import FakeDesk, Reply, Request, json_reply


class SlackFake(FakeDesk):
    def __init__(
        self, token: str = "xoxb-test", channels: tuple[str, ...] = ("C0SUPPORT",)
    ) -> None:
        super().__init__()
        self.token = token
        self.channels = set(channels)
        self.messages: list[dict[str, Any]] = []
        self._last_ts = 0.0

    @property
    def base_url(self) -> str:
        return self.url + "/api/"

    def authorized(self, request: Request) -> bool:
        return request.header("Authorization") == f"Bearer {self.token}"

    def unauthorized(self, request: Request) -> Reply:
        return json_reply(200, {"ok": False, "error": "invalid_auth"})

    def route(self, request: Request) -> Reply:
        args = arguments(request)
        method = request.path.removeprefix("/api/")
        channel = args.get("channel")
        if method not in {"chat.postMessage", "conversations.history", "conversations.replies"}:
            return json_reply(404, {"ok": False, "error": "unknown_method"})
        if channel not in self.channels:
            return json_reply(200, {"ok": False, "error": "channel_not_found"})
        if method == "chat.postMessage":
            return self._post(args)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in {"1", "true"}
        if method == "conversations.replies":
            thread = str(args.get("ts"))
            found = [m for m in self.messages if m.get("thread_ts", m["ts"]) == thread]
        else:
            oldest = float(args.get("oldest", 0))
            found = [
                m
                for m in self.messages
                if "thread_ts" not in m and float(m["ts"]) > oldest and m["channel"] == channel
            ]
        shown = [
            m if with_metadata else {k: v for k, v in m.items() if k != "metadata"} for m in found
        ]
        return json_reply(200, {"ok": True, "messages": shown, "has_more": False})

    def posts(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.messages)

    def _post(self, args: dict[str, Any]) -> Reply:
        if not args.get("text") and not args.get("blocks"):
            return json_reply(200, {"ok": False, "error": "no_text"})
        thread = args.get("thread_ts")
        if thread is not None and not any(m["ts"] == thread for m in self.messages):
            return json_reply(200, {"ok": False, "error": "thread_not_found"})
        # Slack's ts is the post's Unix time with microseconds, unique in the channel.
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        message = {
            "ts": f"{self._last_ts:.6f}",
            "channel": args["channel"],
            "text": args.get("text", ""),
            "blocks": _decoded(args.get("blocks")),
            "metadata": _decoded(args.get("metadata")),
        }
        if thread is not None:
            message["thread_ts"] = thread
            message["reply_broadcast"] = bool(args.get("reply_broadcast"))
        self.messages.append(message)
        return json_reply(
            200, {"ok": True, "channel": args["channel"], "ts": message["ts"], "message": message}
        )


def arguments(request: Request) -> dict[str, Any]:
    """A Web API call's arguments from the query string, a form or a JSON body."""
    args: dict[str, Any] = {k: v[0] for k, v in request.query.items()}
    content_type = request.header("Content-Type") or ""
    if content_type.startswith("application/json"):
        args.update(json.loads(request.body or b"{}"))
    elif request.body:
        args.update({k: v[0] for k, v in parse_qs(request.body.decode()).items()})
    return args


def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
