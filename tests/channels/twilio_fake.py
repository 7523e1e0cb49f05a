"""A fake of Twilio's REST API: the parts omniroute's sender and media fetcher use.

Speaks https://www.twilio.com/docs/messaging/api/message-resource : HTTP Basic auth
with the account SID and auth token; ``POST /2010-04-01/Accounts/{sid}/Messages.json``
(form: ``To``, ``From`` or ``MessagingServiceSid``, ``Body``, ``StatusCallback``)
answering a message resource with its ``sid``; Twilio's error documents (``code``,
``message``, ``more_info``, ``status``) for scripted faults, e.g. 21610. Media
``GET /2010-04-01/Accounts/{sid}/Messages/{MM}/Media/{ME}`` needs Basic auth and
redirects (302) to a media host path on the same server, ``/cdn/{ME}``, which
serves the bytes without credentials (as Twilio's CDN does with signed URLs).
"""

from __future__ import annotations

import base64
import itertools
import re
from typing import Any
from urllib.parse import parse_qs

from tests.workers.fake_desk import FakeDesk, Reply, Request, json_reply

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-test-token"
_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages\.json$")
_MEDIA = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages/(\w+)/Media/(ME\w+)$")
_CDN = re.compile(r"^/cdn/(ME\w+)$")


def twilio_error(code: int, message: str, status: int = 400) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class TwilioFake(FakeDesk):
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self.sent: list[dict[str, str]] = []
        self.media: dict[str, tuple[str, bytes]] = {}
        # The n-th messages.create from now (1-based) answered with this error instead.
        self.failing_create: dict[int, tuple[int, dict[str, Any]]] = {}
        self._creates = 0
        self._sids = (f"SM{n:032x}" for n in itertools.count(1))

    def authorized(self, request: Request) -> bool:
        if _CDN.match(request.path):
            return True  # the CDN's URLs are signed; it takes no credentials
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.header("Authorization") == f"Basic {expected}"

    def unauthorized(self, request: Request) -> Reply:
        return json_reply(401, twilio_error(20003, "Authenticate", status=401))

    def route(self, request: Request) -> Reply:
        match = _MESSAGES.match(request.path)
        if match is not None and request.method == "POST":
            return self._create(match.group(1), request)
        match = _MEDIA.match(request.path)
        if match is not None and request.method == "GET":
            if match.group(3) not in self.media:
                return json_reply(404, twilio_error(20404, "not found", status=404))
            return 302, {"Location": f"{self.url}/cdn/{match.group(3)}"}, b""
        match = _CDN.match(request.path)
        if match is not None and match.group(1) in self.media:
            content_type, payload = self.media[match.group(1)]
            return 200, {"Content-Type": content_type}, payload
        return json_reply(404, twilio_error(20404, "The requested resource was not found", 404))

    def fail_create(self, nth: int, status: int, error: dict[str, Any]) -> None:
        """Answer the ``nth`` messages.create from now with Twilio's ``error``."""
        with self.lock:
            self.failing_create[self._creates + nth] = (status, error)

    def _create(self, account_sid: str, request: Request) -> Reply:
        form = {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        if account_sid != self.account_sid:
            return json_reply(404, twilio_error(20404, "account not found", 404))
        self._creates += 1
        if self._creates in self.failing_create:
            return json_reply(*self.failing_create.pop(self._creates))
        if not form.get("To") or not (form.get("From") or form.get("MessagingServiceSid")):
            return json_reply(400, twilio_error(21604, "A 'To' and 'From' are required"))
        if len(form.get("Body", "")) > 1600:
            return json_reply(
                400, twilio_error(21617, "The concatenated message body exceeds 1600")
            )
        sid = next(self._sids)
        self.sent.append({**form, "Sid": sid})
        return json_reply(
            201,
            {
                "sid": sid,
                "account_sid": account_sid,
                "to": form["To"],
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": form.get("Body", ""),
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
            },
        )
