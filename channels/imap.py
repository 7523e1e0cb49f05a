"""IMAP reader: one thread per mailbox that holds its lease, IDLEs, and journals new mail.

For each new UID: fetch with ``BODY.PEEK[]``, commit the raw bytes with
``accept_raw`` (dedupe key ``imap:<mailbox>:<uidvalidity>:<uid>``), then flag
or move the message, then record the UID as done. A crash between any two
steps repeats the step, never skips it; the dedupe key makes the repeat free.

Errors, by fault:

    StoreUnavailable        the store is down: nothing flagged or advanced; reconnect later
    IMAPClientAbortError,   the network or server failed: reconnect with backoff
    OSError                 (``imap_client.ConnectionLost``, a ``* BYE``, is one)
    IMAPClientError on one  that message is recorded in ``failed_work`` and skipped
    message's FETCH

``LeaseLost`` is a signal, not an error: another process now reads the mailbox.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from imapclient import IMAPClient
from sqlalchemy.orm import Session, sessionmaker

from channels import imap_client, imap_plan
from config.mailboxes import ImapMailbox
from ingest.accept import accept_raw
from ingest.errors import StoreUnavailable
from ingest.mailboxes import (
    MailboxState,
    acquire_lease,
    load_state,
    record_skipped,
    release_lease,
    save_state,
)
from ingest.raw_inputs import RawSpill

log = logging.getLogger(__name__)

# How often a waiting or idling reader looks at its stop flag and its lease.
TICK_SECONDS = 0.5


class LeaseLost(Exception):
    """Another holder took the mailbox's lease; stop reading it."""


@dataclass
class ReaderStats:
    """Counters a test or ``/metrics`` can read; written only by the reader's thread."""

    accepted: int = 0
    duplicates: int = 0
    skipped: int = 0
    store_errors: int = 0
    connection_errors: int = 0
    syncs: int = 0
    # Times the server confirmed IDLE: mail delivered after that is announced in it.
    idles: int = 0


class MailboxReader:
    """Reads one mailbox while it holds the lease ``imap:<name>``; ``start()``/``stop()``."""

    def __init__(
        self,
        mailbox: ImapMailbox,
        sessions: sessionmaker[Session],
        *,
        lease_seconds: float = 60.0,
        on_accepted: Callable[[], None] | None = None,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        holder: str | None = None,
        spill: RawSpill | None = None,
    ) -> None:
        self.mailbox = mailbox
        self.spill = spill
        self.sessions = sessions
        self.lease_seconds = lease_seconds
        self.on_accepted = on_accepted
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_name = f"imap:{mailbox.name}"
        self.stats = ReaderStats()
        self._stop = threading.Event()
        self._release_on_stop = True
        self._holding = False
        self._renewed_at = 0.0
        self._failures = 0
        self._state: MailboxState | None = None
        self._thread = threading.Thread(target=self._run, name=f"imap-{mailbox.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, *, release: bool = True, timeout: float = 30.0) -> None:
        """Stop reading; ``release=False`` leaves the lease to expire, as a crash would."""
        self._release_on_stop = release
        self._stop.set()
        self._thread.join(timeout)

    @property
    def holding(self) -> bool:
        return self._holding

    # The loop: wait for the lease, read until something fails, back off, repeat.

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    if self._take_lease():
                        self._read()
                    else:
                        self._stop.wait(min(TICK_SECONDS, self.lease_seconds / 3))
                    continue
                except LeaseLost:
                    log.warning("imap %s: lease taken by another holder", self.mailbox.name)
                    self._holding = False
                    continue
                except StoreUnavailable as exc:
                    self.stats.store_errors += 1
                    log.warning("imap %s: store unavailable: %s", self.mailbox.name, exc)
                except (OSError, imap_client.IMAPClientError) as exc:
                    self.stats.connection_errors += 1
                    log.warning("imap %s: %s: %s", self.mailbox.name, type(exc).__name__, exc)
                except Exception:
                    self.stats.connection_errors += 1
                    log.exception("imap %s: unexpected error", self.mailbox.name)
                delay = imap_plan.backoff_delay(
                    self._failures, base=self.backoff_base, cap=self.backoff_cap
                )
                self._failures += 1
                log.info("imap %s: reconnecting in %.1f s", self.mailbox.name, delay)
                self._stop.wait(delay)
        finally:
            self._give_up_lease()

    def _take_lease(self) -> bool:
        was_holding = self._holding
        self._holding = acquire_lease(
            self.sessions, self.lease_name, self.holder, self.lease_seconds
        )
        if self._holding:
            self._renewed_at = time.monotonic()
            if not was_holding:
                log.info("imap %s: lease taken by %s", self.mailbox.name, self.holder)
        return self._holding

    def _keep_lease(self) -> None:
        due = imap_plan.lease_renewal_due(time.monotonic(), self._renewed_at, self.lease_seconds)
        if due and not self._take_lease():
            raise LeaseLost()

    def _give_up_lease(self) -> None:
        if not (self._holding and self._release_on_stop):
            return
        try:
            release_lease(self.sessions, self.lease_name, self.holder)
        except StoreUnavailable as exc:
            log.warning("imap %s: lease not released, it will expire: %s", self.mailbox.name, exc)
        self._holding = False

    # One connection: select, sync, then IDLE (or sleep) until there is more to do.

    def _read(self) -> None:
        client = imap_client.connect(self.mailbox)
        try:
            uidvalidity = imap_client.select(client, self.mailbox)
            # Only the lease holder writes this row, so it is read once per connection.
            self._state = load_state(self.sessions, self.mailbox.name)
            polled_at = self._synced(client, uidvalidity)
            self._failures = 0
            idle = client.has_capability("IDLE")
            while not self._stop.is_set():
                reason = self._idle(client, polled_at) if idle else self._sleep(polled_at)
                if reason in ("new-mail", "poll"):
                    polled_at = self._synced(client, uidvalidity)
        finally:
            imap_client.close(client)

    def _idle(self, client: IMAPClient, polled_at: float) -> imap_plan.WakeReason:
        client.idle()
        self.stats.idles += 1
        idle_since = time.monotonic()
        while True:
            responses = imap_client.idle_responses(client, TICK_SECONDS)
            reason = self._wake_reason(
                idle_since, polled_at, new_mail=imap_plan.has_new_mail(responses)
            )
            if reason is not None:
                client.idle_done()
                return reason
            self._keep_lease()

    def _sleep(self, polled_at: float) -> imap_plan.WakeReason:
        """Without IDLE: the periodic poll is all there is."""
        while True:
            reason = self._wake_reason(time.monotonic(), polled_at, new_mail=False)
            if reason in ("stop", "poll"):
                return reason
            self._keep_lease()
            self._stop.wait(TICK_SECONDS)

    def _wake_reason(
        self, idle_since: float, polled_at: float, *, new_mail: bool
    ) -> imap_plan.WakeReason | None:
        return imap_plan.wake_reason(
            now=time.monotonic(),
            idle_since=idle_since,
            polled_at=polled_at,
            idle_seconds=self.mailbox.idle_seconds,
            poll_seconds=self.mailbox.poll_seconds,
            new_mail=new_mail,
            stopping=self._stop.is_set(),
        )

    def _synced(self, client: IMAPClient, uidvalidity: int) -> float:
        """:meth:`_sync`, then when it counts as polled (soon again if it took mail)."""
        stats = self.stats
        before = stats.accepted + stats.duplicates + stats.skipped
        self._sync(client, uidvalidity)
        took_mail = stats.accepted + stats.duplicates + stats.skipped > before
        return imap_plan.polled_at_after(
            time.monotonic(), took_mail=took_mail, poll_seconds=self.mailbox.poll_seconds
        )

    def _sync(self, client: IMAPClient, uidvalidity: int) -> None:
        """Journal every message above the last UID done, oldest first, until none is announced.

        What was announced before the search is in its answer; what the server
        announced while this sync ran would never be repeated in IDLE, so it
        starts another round.
        """
        imap_client.take_new_mail_notices(client)
        while self._sync_once(client, uidvalidity):
            if not imap_client.take_new_mail_notices(client):
                return

    def _sync_once(self, client: IMAPClient, uidvalidity: int) -> bool:
        """One search and its fetches; False when the reader was stopped midway."""
        name = self.mailbox.name
        state = self._state
        after = imap_plan.resume_after(state, uidvalidity)
        if state is not None and after == 0 and state.uidvalidity != uidvalidity:
            log.warning(
                "imap %s: UIDVALIDITY changed %s -> %s, reading the folder again",
                name,
                state.uidvalidity,
                uidvalidity,
            )
        uids = imap_plan.uids_to_fetch(client.search(["UID", f"{after + 1}:*"]), after)
        sizes = imap_client.fetch_sizes(client, uids) if uids else {}
        for uid in uids:
            self._keep_lease()
            if self._stop.is_set():
                return False
            self._take_one(client, uidvalidity, uid, sizes.get(uid))
            self._advance(MailboxState(uidvalidity, uid))
        if not uids and (state is None or state.uidvalidity != uidvalidity):
            self._advance(MailboxState(uidvalidity, 0))
        self.stats.syncs += 1
        return True

    def _advance(self, state: MailboxState) -> None:
        save_state(self.sessions, self.mailbox.name, state)
        self._state = state

    def _take_one(self, client: IMAPClient, uidvalidity: int, uid: int, size: int | None) -> None:
        name = self.mailbox.name
        if size is None:
            log.info("imap %s: uid %s vanished before it was fetched", name, uid)
            return
        if size > self.mailbox.max_message_bytes:
            self._skip(uidvalidity, uid, f"{size} bytes exceeds {self.mailbox.max_message_bytes}")
            return
        try:
            raw = imap_client.fetch_raw(client, uid)
        except imap_client.IMAPClientAbortError:
            raise
        except imap_client.IMAPClientError as exc:
            self._skip(uidvalidity, uid, exc)
            return
        if raw is None:
            self._skip(uidvalidity, uid, "FETCH returned no BODY[]")
            return
        accepted = accept_raw(
            self.sessions,
            channel="email",
            dedupe_key=imap_plan.dedupe_key(name, uidvalidity, uid),
            raw=raw,
            envelope=imap_plan.envelope(name, uidvalidity, uid),
            spill=self.spill,
        )
        if accepted.duplicate:
            self.stats.duplicates += 1
        else:
            self.stats.accepted += 1
            log.info("imap %s: uid %s accepted as inbound %s", name, uid, accepted.inbound_id)
            if self.on_accepted is not None:
                self.on_accepted()
        # Only now, with the bytes committed, may the server learn we have it.
        imap_client.after_accept(client, self.mailbox, uid)

    def _skip(self, uidvalidity: int, uid: int, reason: BaseException | str) -> None:
        log.error("imap %s: skipping uid %s: %s", self.mailbox.name, uid, reason)
        record_skipped(self.sessions, self.mailbox.name, uidvalidity, uid, reason)
        self.stats.skipped += 1


def start_readers(
    mailboxes: tuple[ImapMailbox, ...],
    sessions: sessionmaker[Session],
    *,
    lease_seconds: float,
    on_accepted: Callable[[], None] | None = None,
    spill: RawSpill | None = None,
) -> list[MailboxReader]:
    """One reader per mailbox; a missing secret raises ``ConfigError`` before any starts."""
    for mailbox in mailboxes:
        imap_client.check_credentials(mailbox)
    readers = [
        MailboxReader(
            m, sessions, lease_seconds=lease_seconds, on_accepted=on_accepted, spill=spill
        )
        for m in mailboxes
    ]
    for reader in readers:
        reader.start()
    return readers
