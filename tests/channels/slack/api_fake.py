"""A fake Slack Web API for the customer channel, on loopback, driven by the real clients.

Speaks https://api.slack.com/web as ``slack_sdk``'s ``WebClient`` calls it: Bearer-token
auth (``invalid_auth`` with HTTP 200 otherwise), arguments as a form, JSON or the query
string. Methods: ``auth.test``, ``users.info``, ``conversations.info``,
``conversations.history``, ``files.info``, ``chat.postMessage`` and
``apps.connections.open`` (with the app-level token, for Socket Mode); files are
served at ``/files/<id>`` with the bot token, or as Slack's sign-in HTML page when the
file is marked so (what Slack answers when ``files:read`` is missing). Errors and
rate limits are scripted with ``fail_next`` or per channel with ``refuse_channel``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tests.workers.fake_desk import FakeDesk, Reply, Request, json_reply
from tests.workers.slack_fake import arguments

BOT_TOKEN = "xoxb-test-bot"
APP_TOKEN = "xapp-test-app"
OUR_TEAM = "T0OURS"
PARTNER_TEAM = "T0PARTNER"
BOT_USER = "U0BOT"
BOT_ID = "B0BOT"

SIGN_IN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Slack</title></head>"
    b"<body><h1>Sign in to your workspace</h1></body></html>"
)


@dataclass
class FakeFile:
    id: str
    name: str
    mimetype: str
    content: bytes
    sign_in_page: bool = False


@dataclass
class SlackState:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    files: dict[str, FakeFile] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    socket_url: str = ""


class SlackApiFake(FakeDesk):
    def __init__(self) -> None:
        super().__init__()
        self.state = SlackState()
        self._last_ts = 0.0
        self.add_user("U0ALICE", OUR_TEAM, "Alice Doe", "alice@ours.test")
        self.add_user("U0AGENT", OUR_TEAM, "Sam Agent", "sam@ours.test")
        self.add_user("U0EXT", PARTNER_TEAM, "Erin Partner", "erin@partner.test")
        self.add_channel("D0ALICE", im=True)
        self.add_channel("C0SUPPORT")
        self.add_channel("C0SHARED", shared=True)
        self.add_channel("C0GENERAL")

    @property
    def base_url(self) -> str:
        return self.url + "/api/"

    # -- setup -----------------------------------------------------------------------

    def add_user(self, user: str, team: str, name: str, email: str) -> None:
        self.state.users[user] = {
            "id": user,
            "team_id": team,
            "name": name.split(maxsplit=1)[0].lower(),
            "real_name": name,
            "is_bot": False,
            "profile": {"real_name": name, "email": email, "team": team},
        }

    def add_channel(self, channel: str, *, im: bool = False, shared: bool = False) -> None:
        self.state.channels[channel] = {
            "id": channel,
            "is_im": im,
            "is_channel": not im,
            "is_ext_shared": shared,
            "is_shared": shared,
        }

    def add_file(self, file: FakeFile) -> dict[str, Any]:
        """Register ``file``; returns its ``files`` entry as a message event carries it."""
        self.state.files[file.id] = file
        return {
            "id": file.id,
            "name": file.name,
            "title": file.name,
            "mimetype": file.mimetype,
            "size": len(file.content),
            "url_private": f"{self.url}/files/{file.id}",
            "url_private_download": f"{self.url}/files/{file.id}?download=1",
        }

    def add_history(self, channel: str, message: dict[str, Any]) -> None:
        self.state.history.setdefault(channel, []).append(message)

    def refuse_channel(self, channel: str, error: str) -> None:
        """Every post to ``channel`` fails with Slack's ``error`` (``not_in_channel``...)."""
        with self.lock:
            self.state.refused[channel] = error

    def posts(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.state.posts)

    # -- serving ---------------------------------------------------------------------

    def authorized(self, request: Request) -> bool:
        token = BOT_TOKEN
        if request.path.endswith("apps.connections.open"):
            token = APP_TOKEN
        return request.header("Authorization") == f"Bearer {token}"

    def unauthorized(self, request: Request) -> Reply:
        if request.path.startswith("/files/"):
            # Slack answers a file request it cannot authorise with its sign-in page.
            return 200, {"Content-Type": "text/html; charset=utf-8"}, SIGN_IN_PAGE
        return json_reply(200, {"ok": False, "error": "invalid_auth"})

    def route(self, request: Request) -> Reply:
        if request.path.startswith("/files/"):
            return self._file(request.path.removeprefix("/files/"))
        args = arguments(request)
        method = request.path.removeprefix("/api/")
        handler = {
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "conversations.history": self._history,
            "files.info": self._files_info,
            "chat.postMessage": self._post,
            "apps.connections.open": self._connections_open,
        }.get(method)
        if handler is None:
            return json_reply(404, {"ok": False, "error": "unknown_method"})
        return handler(args)

    def _auth_test(self, args: dict[str, Any]) -> Reply:
        return json_reply(
            200,
            {
                "ok": True,
                "url": "https://ours.slack.test/",
                "team": "Ours",
                "user": "omniroute",
                "team_id": OUR_TEAM,
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
            },
        )

    def _users_info(self, args: dict[str, Any]) -> Reply:
        user = self.state.users.get(str(args.get("user")))
        if user is None:
            return json_reply(200, {"ok": False, "error": "user_not_found"})
        return json_reply(200, {"ok": True, "user": user})

    def _conversations_info(self, args: dict[str, Any]) -> Reply:
        channel = self.state.channels.get(str(args.get("channel")))
        if channel is None:
            return json_reply(200, {"ok": False, "error": "channel_not_found"})
        return json_reply(200, {"ok": True, "channel": channel})

    def _history(self, args: dict[str, Any]) -> Reply:
        channel = str(args.get("channel"))
        if channel not in self.state.channels:
            return json_reply(200, {"ok": False, "error": "channel_not_found"})
        latest = float(args.get("latest") or "inf")
        found = [m for m in self.state.history.get(channel, []) if float(m["ts"]) <= latest]
        found.sort(key=lambda m: float(m["ts"]), reverse=True)
        limit = int(args.get("limit") or 100)
        return json_reply(200, {"ok": True, "messages": found[:limit], "has_more": False})

    def _files_info(self, args: dict[str, Any]) -> Reply:
        file = self.state.files.get(str(args.get("file")))
        if file is None:
            return json_reply(200, {"ok": False, "error": "file_not_found"})
        entry = {
            "id": file.id,
            "name": file.name,
            "mimetype": file.mimetype,
            "size": len(file.content),
            "url_private": f"{self.url}/files/{file.id}",
        }
        return json_reply(200, {"ok": True, "file": entry})

    def _file(self, file_id: str) -> Reply:
        file = self.state.files.get(file_id)
        if file is None:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        if file.sign_in_page:
            return 200, {"Content-Type": "text/html; charset=utf-8"}, SIGN_IN_PAGE
        return 200, {"Content-Type": file.mimetype}, file.content

    def _post(self, args: dict[str, Any]) -> Reply:
        channel = str(args.get("channel"))
        if channel in self.state.refused:
            return json_reply(200, {"ok": False, "error": self.state.refused[channel]})
        if channel not in self.state.channels:
            return json_reply(200, {"ok": False, "error": "channel_not_found"})
        if not args.get("text"):
            return json_reply(200, {"ok": False, "error": "no_text"})
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        post = {
            "type": "message",
            "channel": channel,
            "ts": f"{self._last_ts:.6f}",
            "text": args["text"],
            "user": BOT_USER,
            "bot_id": BOT_ID,
        }
        if args.get("thread_ts"):
            post["thread_ts"] = args["thread_ts"]
        self.state.posts.append(post)
        return json_reply(200, {"ok": True, "channel": channel, "ts": post["ts"], "message": post})

    def _connections_open(self, args: dict[str, Any]) -> Reply:
        return json_reply(200, {"ok": True, "url": self.state.socket_url})
