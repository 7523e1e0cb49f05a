"""A throwaway Dovecot IMAP server on loopback, and IMAP readers pointed at it, for tests.

``dovecot -F -c CONF`` runs in the foreground as a child process; nothing from the
system installation is used but the binaries. As root, Dovecot refuses to run
mail processes as root, so mail belongs to the ``dovecot`` system user the Debian
package creates and logins run as ``dovenull``; as any other user everything runs
as that user. Without Dovecot the tests skip, unless ``OMNIROUTE_REQUIRE_DOVECOT=1``
(CI sets it) makes them fail.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from channels.imap import MailboxReader
from config.mailboxes import ImapMailbox
from ingest.mailboxes import MailboxState, load_state
from ingest.models import InboundRecord
from tests.servers import free_port, wait_until

DOVECOT = shutil.which("dovecot") or next(
    (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)), None
)
USER = "support"
PASSWORD = "imap-test-password"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = omniroute-test-{port}
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {root}/dovecot.log
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
protocol imap {{
  mail_max_userip_connections = 100
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@dataclass
class Dovecot:
    """One running server: ``port``, ``user``, ``password``; ``restart()`` keeps its mail."""

    root: Path
    port: int
    user: str = USER
    password: str = PASSWORD
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert DOVECOT is not None
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_until(self._accepting, timeout=20, what=f"dovecot on port {self.port}")

    def stop(self) -> None:
        """Stop the server and every session it serves, as a crash or restart would."""
        if self.process is None:
            return
        # Sessions already running outlive the master here (it leaves them to finish),
        # so they are ended by pid: only this server's own children.
        sessions = _children(self.process.pid)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        for pid in sessions:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self) -> IMAPClient:
        """A logged-in client, for delivering mail and looking at flags."""
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        with self.client() as client:
            client.append(folder, raw)

    def flags(self, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        """UID → flags of every message in ``folder``."""
        with self.client() as client:
            if not client.folder_exists(folder):
                return {}
            client.select_folder(folder, readonly=True)
            fetched = client.fetch("1:*", ["FLAGS"]) if client.search("ALL") else {}
            return {uid: tuple(data[b"FLAGS"]) for uid, data in fetched.items()}

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _accepting(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            stderr = self.process.stderr.read().decode() if self.process.stderr else ""
            raise RuntimeError(f"dovecot exited: {stderr}\n{self.log()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                return sock.recv(64).startswith(b"* OK")
        except OSError:
            return False


def dovecot_missing() -> str | None:
    """Why the Dovecot tests cannot run here, or None."""
    if DOVECOT is not None:
        return None
    reason = "dovecot is not installed (Debian: apt-get install dovecot-imapd)"
    if os.environ.get("OMNIROUTE_REQUIRE_DOVECOT") == "1":
        pytest.fail(reason + " and OMNIROUTE_REQUIRE_DOVECOT=1")
    return reason


def start_dovecot() -> Dovecot:
    """Write a config under a fresh temporary directory and start the server."""
    root = Path(tempfile.mkdtemp(prefix="omniroute-dovecot-"))
    if os.geteuid() == 0:
        mail_owner = pwd.getpwnam("dovecot")
        internal_user, login_user = "dovecot", "dovenull"
    else:
        mail_owner = pwd.getpwuid(os.getuid())
        internal_user = login_user = mail_owner.pw_name
    internal_group = _group_name(mail_owner.pw_gid)
    port = free_port()
    (root / "mail").mkdir()
    (root / "users").write_text(
        f"{USER}:{{PLAIN}}{PASSWORD}:{mail_owner.pw_uid}:{mail_owner.pw_gid}::{root}/home::\n"
    )
    (root / "dovecot.conf").write_text(
        CONFIG.format(
            root=root,
            port=port,
            internal_user=internal_user,
            internal_group=internal_group,
            login_user=login_user,
        )
    )
    # Mail processes run as the mail owner: they must reach and write their maildir.
    root.chmod(0o755)
    if os.geteuid() == 0:
        os.chown(root / "mail", mail_owner.pw_uid, mail_owner.pw_gid)
    server = Dovecot(root=root, port=port)
    server.start()
    return server


def remove_dovecot(server: Dovecot) -> None:
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _group_name(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name


def wait_for_flag(server: Dovecot, flag: bytes, count: int, folder: str = "INBOX") -> None:
    """Wait until ``count`` messages in ``folder`` carry ``flag``."""
    wait_until(
        lambda: sum(flag in f for f in server.flags(folder).values()) >= count,
        timeout=30,
        what=f"{count} message(s) flagged {flag!r} in {folder}",
    )


# Readers pointed at the test server, and the fixtures' bodies.

PASSWORD_ENV = "OMNIROUTE_TEST_IMAP_PASSWORD"

ReaderFactory = Callable[..., MailboxReader]


def running_dovecot(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dovecot]:
    """Body of the ``dovecot`` fixture: skip (or fail in CI) without Dovecot."""
    reason = dovecot_missing()
    if reason is not None:
        pytest.skip(reason)
    server = start_dovecot()
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    try:
        yield server
    finally:
        remove_dovecot(server)


def mailbox_for(server: Dovecot, **overrides: Any) -> ImapMailbox:
    values: dict[str, Any] = {
        "name": "support",
        "host": "127.0.0.1",
        "port": server.port,
        "security": "plain",
        "username": server.user,
        "password_env": PASSWORD_ENV,
        "timeout_seconds": 5,
    }
    values.update(overrides)
    return ImapMailbox(**values)


def reader_factory(server: Dovecot, sessions: sessionmaker[Session]) -> Iterator[ReaderFactory]:
    """Body of the ``reader`` fixture: build and start readers, stop them all afterwards."""
    started: list[MailboxReader] = []

    def make(
        *,
        sessions_: sessionmaker[Session] | None = None,
        lease_seconds: float = 60.0,
        **overrides: Any,
    ) -> MailboxReader:
        reader = MailboxReader(
            mailbox_for(server, **overrides),
            sessions_ or sessions,
            lease_seconds=lease_seconds,
            backoff_base=0.1,
            backoff_cap=1.0,
        )
        started.append(reader)
        reader.start()
        return reader

    yield make
    for reader in started:
        reader.stop()


def inbound(sessions: sessionmaker[Session]) -> list[InboundRecord]:
    with sessions() as session:
        return list(session.scalars(select(InboundRecord).order_by(InboundRecord.id)))


def inbound_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.execute(select(func.count(InboundRecord.id))).scalar_one())


def settled_state(sessions: sessionmaker[Session], mailbox: str, last_uid: int) -> MailboxState:
    """The mailbox's sync state once it has advanced to ``last_uid``.

    The reader advances its state only after flagging or moving, so a test that
    saw the flag must still wait for the state.
    """
    wait_until(
        lambda: (state := load_state(sessions, mailbox)) is not None and state.last_uid >= last_uid,
        timeout=30,
        what=f"{mailbox} to reach UID {last_uid}",
    )
    state = load_state(sessions, mailbox)
    assert state is not None
    return state
