"""The IMAP reader's decisions as pure functions: what to fetch, when to wake, how long to wait.

``channels/imap.py`` does the I/O and asks these; they take plain values so
they are tested without a server.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any, Literal

from ingest.mailboxes import MailboxState

WakeReason = Literal["stop", "new-mail", "poll", "renew-idle"]


def resume_after(state: MailboxState | None, uidvalidity: int) -> int:
    """The last UID already handled, or 0 to (re)read the folder from UID 1.

    A new UIDVALIDITY means every stored UID may now name another message
    (RFC 3501 2.3.1.1), so the folder is read again; the pipeline recognises
    messages it already has by Message-ID and sender.
    """
    if state is None or state.uidvalidity != uidvalidity:
        return 0
    return state.last_uid


def uids_to_fetch(found: Iterable[int], after: int) -> list[int]:
    """UIDs above ``after``, oldest first.

    ``UID n:*`` always matches the highest UID even when it is below ``n``
    (RFC 3501 6.4.8), so the search result is filtered here.
    """
    return sorted({uid for uid in found if uid > after})


def backoff_delay(
    attempt: int,
    *,
    base: float = 1.0,
    cap: float = 300.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before reconnect ``attempt`` (0-based): exponential, capped, jittered.

    Half the delay is fixed and half random, so many readers dropped by one
    server restart do not all come back in the same second.
    """
    ceiling = min(cap, base * 2.0 ** min(attempt, 32))
    return ceiling / 2 + ceiling / 2 * rand()


def has_new_mail(responses: Iterable[tuple[Any, ...]]) -> bool:
    """True when IDLE reported ``* n EXISTS`` or ``* n RECENT``."""
    return any(len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT") for r in responses)


def server_said_bye(responses: Iterable[tuple[Any, ...]]) -> bool:
    """True when the server announced it is closing the connection (``* BYE``)."""
    return any(len(r) >= 1 and r[0] == b"BYE" for r in responses)


def wake_reason(
    *,
    now: float,
    idle_since: float,
    polled_at: float,
    idle_seconds: float,
    poll_seconds: float,
    new_mail: bool,
    stopping: bool,
) -> WakeReason | None:
    """Why to leave IDLE now, if at all (times are ``time.monotonic()`` seconds)."""
    if stopping:
        return "stop"
    if new_mail:
        return "new-mail"
    if now - polled_at >= poll_seconds:
        return "poll"
    if now - idle_since >= idle_seconds:
        return "renew-idle"
    return None


# After a sync that took mail, the next poll comes this soon (see ``polled_at_after``).
SETTLE_SECONDS = 2.0


def polled_at_after(now: float, *, took_mail: bool, poll_seconds: float) -> float:
    """When a sync that just ended counts as a poll, for ``wake_reason``.

    Mail delivered while the reader goes back into IDLE can be announced late: Dovecot
    announced it only at its own next check, 22 s later here. Mail comes in bursts, so
    after a sync that took some the next poll is due ``SETTLE_SECONDS`` later; after
    one that found nothing, a whole ``poll_seconds`` later.
    """
    if took_mail:
        return now - max(0.0, poll_seconds - SETTLE_SECONDS)
    return now


def lease_renewal_due(now: float, renewed_at: float, ttl_seconds: float) -> bool:
    """Renew at a third of the lease: two renewals can fail before anyone else may take it."""
    return now - renewed_at >= ttl_seconds / 3


def dedupe_key(mailbox: str, uidvalidity: int, uid: int) -> str:
    return f"imap:{mailbox}:{uidvalidity}:{uid}"


def envelope(mailbox: str, uidvalidity: int, uid: int) -> dict[str, Any]:
    return {"mailbox": mailbox, "uid": uid, "uidvalidity": uidvalidity, "source": "imap"}
