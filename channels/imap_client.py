"""Talking to one IMAP server: connect and log in, select the folder, fetch, flag or move.

Every call here is one protocol exchange on an ``IMAPClient``; deciding what to
do is ``channels/imap_plan.py``'s job and looping is ``channels/imap.py``'s.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from channels import imap_plan
from config.errors import ConfigError
from config.mailboxes import ImapMailbox

SEEN = b"\\Seen"

__all__ = [
    "ConnectionLost",
    "IMAPClientAbortError",
    "IMAPClientError",
    "after_accept",
    "check_credentials",
    "close",
    "connect",
    "fetch_raw",
    "fetch_sizes",
    "idle_responses",
    "peer_closed",
    "select",
    "take_new_mail_notices",
]


def check_credentials(mailbox: ImapMailbox) -> None:
    """Fail at start, naming the variable, when the mailbox's secret is not in the environment."""
    name = mailbox.password_env or mailbox.oauth2_token_env
    if not name or not os.environ.get(name):
        raise ConfigError(f"mailbox {mailbox.name}: environment variable {name} is not set")


def connect(mailbox: ImapMailbox) -> IMAPClient:
    """A logged-in client; TLS is verified against the system's trust store."""
    check_credentials(mailbox)
    context = ssl.create_default_context()
    client = IMAPClient(
        mailbox.host,
        port=mailbox.resolved_port,
        ssl=mailbox.security == "tls",
        ssl_context=context if mailbox.security == "tls" else None,
        timeout=mailbox.timeout_seconds,
    )
    try:
        if mailbox.security == "starttls":
            client.starttls(context)
        if mailbox.password_env:
            client.login(mailbox.username, os.environ[mailbox.password_env])
        else:
            assert mailbox.oauth2_token_env is not None
            client.oauth2_login(mailbox.username, os.environ[mailbox.oauth2_token_env])
    except BaseException:
        client.shutdown()
        raise
    return client


def select(client: IMAPClient, mailbox: ImapMailbox) -> int:
    """Select the folder read-write and return its UIDVALIDITY; create ``move_to`` if missing."""
    if (
        mailbox.after_accept == "move"
        and mailbox.move_to
        and not client.folder_exists(mailbox.move_to)
    ):
        client.create_folder(mailbox.move_to)
    selected = client.select_folder(mailbox.folder)
    return int(selected[b"UIDVALIDITY"])


class ConnectionLost(ConnectionError):
    """The server said ``* BYE`` or closed the connection."""


def idle_responses(client: IMAPClient, timeout: float) -> list[tuple[Any, ...]]:
    """What the server said during IDLE within ``timeout`` seconds; raises ``ConnectionLost``."""
    responses: list[tuple[Any, ...]] = client.idle_check(timeout=timeout)
    if imap_plan.server_said_bye(responses):
        raise ConnectionLost(f"server closed the connection: {responses!r}")
    if not responses and peer_closed(client):
        raise ConnectionLost("server closed the connection")
    return responses


def take_new_mail_notices(client: IMAPClient) -> bool:
    """True when ``* n EXISTS`` or ``* n RECENT`` came with a command's answer; forgets them.

    A server announces new mail once, with the answer to whatever command is
    running when it arrives. Mail delivered while the reader fetches or flags is
    announced there, not later in IDLE, so the reader looks here before it
    idles. imaplib keeps such untagged answers in ``untagged_responses``; IMAPClient
    offers no public way to read them.
    """
    untagged: dict[str, list[Any]] = client._imap.untagged_responses
    announced = [untagged.pop(key, None) for key in ("EXISTS", "RECENT")]
    return any(announced)


def close(client: IMAPClient) -> None:
    """Log out, or just drop the connection when it is already gone."""
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()


def peer_closed(client: IMAPClient) -> bool:
    """True when the server has closed the connection.

    ``IMAPClient.idle_check`` reports a closed connection as "no responses", so
    the reader asks the socket itself: a peek that returns no bytes means EOF.
    The peek is on a duplicate descriptor, below TLS, and consumes nothing.
    """
    sock = client.socket()
    with socket.fromfd(sock.fileno(), sock.family, sock.type) as raw:
        try:
            return raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False


def fetch_sizes(client: IMAPClient, uids: list[int]) -> dict[int, int]:
    """UID → RFC822.SIZE; a UID missing from the answer was expunged meanwhile."""
    fetched = client.fetch(uids, ["RFC822.SIZE"])
    return {int(uid): int(data[b"RFC822.SIZE"]) for uid, data in fetched.items()}


def fetch_raw(client: IMAPClient, uid: int) -> bytes | None:
    """The message's bytes via ``BODY.PEEK[]``, which never sets ``\\Seen`` (RFC 3501 6.4.5)."""
    data = client.fetch([uid], ["BODY.PEEK[]"]).get(uid)
    if data is None:
        return None
    raw = data.get(b"BODY[]")
    return bytes(raw) if raw is not None else None


def after_accept(client: IMAPClient, mailbox: ImapMailbox, uid: int) -> None:
    """Flag ``\\Seen``, move, or leave the message, as configured. Never deletes it."""
    if mailbox.after_accept == "seen":
        client.add_flags([uid], [SEEN], silent=True)
    elif mailbox.after_accept == "move":
        assert mailbox.move_to is not None
        client.add_flags([uid], [SEEN], silent=True)
        if client.has_capability("MOVE"):
            client.move([uid], mailbox.move_to)
        else:
            # RFC 6851's fallback: copy, then expunge only this UID (UIDPLUS), else
            # leave it flagged \Deleted rather than expunge anyone else's messages.
            client.copy([uid], mailbox.move_to)
            client.add_flags([uid], [b"\\Deleted"], silent=True)
            if client.has_capability("UIDPLUS"):
                client.uid_expunge([uid])
