"""Mailbox sync state (UIDVALIDITY + last UID) and the leases that give a mailbox one reader.

A lease is one row per name: whoever holds an unexpired row may read the
mailbox. Taking it is a single statement that succeeds only when the row is
missing, expired, or already ours, so two processes racing for it cannot both
win; the holder renews it well before it expires and deletes it on a clean
stop. Expiry uses each process's clock, so hosts sharing a store need NTP.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, String, delete, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from ingest.db import insert_ignoring_conflicts, unit_of_work
from ingest.models import Base, FailedWork, utcnow


class MailboxStateRecord(Base):
    """Where a mailbox reader is: every UID up to ``last_uid`` under ``uidvalidity`` is done."""

    __tablename__ = "imap_state"

    mailbox: Mapped[str] = mapped_column(String(64), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Lease(Base):
    """A named, expiring claim: one holder at a time (e.g. one reader per mailbox)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


@dataclass(frozen=True, slots=True)
class MailboxState:
    uidvalidity: int
    last_uid: int


def load_state(sessions: sessionmaker[Session], mailbox: str) -> MailboxState | None:
    with unit_of_work(sessions) as session:
        row = session.get(MailboxStateRecord, mailbox)
        return None if row is None else MailboxState(row.uidvalidity, row.last_uid)


def save_state(sessions: sessionmaker[Session], mailbox: str, state: MailboxState) -> None:
    with unit_of_work(sessions) as session:
        row = session.get(MailboxStateRecord, mailbox)
        if row is None:
            # Only the lease holder writes a mailbox's state, so no insert race here.
            row = MailboxStateRecord(mailbox=mailbox)
            session.add(row)
        row.uidvalidity = state.uidvalidity
        row.last_uid = state.last_uid
        row.updated_at = utcnow()


def record_skipped(
    sessions: sessionmaker[Session],
    mailbox: str,
    uidvalidity: int,
    uid: int,
    error: BaseException | str,
) -> None:
    """Keep a message the reader had to skip visible in ``failed_work`` (stage ``imap``)."""
    trace = "".join(traceback.format_exception(error)) if isinstance(error, BaseException) else ""
    with unit_of_work(sessions) as session:
        session.add(
            FailedWork(
                stage="imap",
                payload={"mailbox": mailbox, "uidvalidity": uidvalidity, "uid": uid},
                error=str(error),
                traceback=trace,
            )
        )


def acquire_lease(
    sessions: sessionmaker[Session], name: str, holder: str, ttl_seconds: float
) -> bool:
    """Take or renew ``name`` for ``ttl_seconds``; False while someone else holds it."""
    now = utcnow()
    expires = now + timedelta(seconds=ttl_seconds)
    with unit_of_work(sessions) as session:
        insert = insert_ignoring_conflicts(session, Lease).values(
            name=name, holder=holder, expires_at=expires
        )
        if session.execute(insert.returning(Lease.name)).scalar_one_or_none() is not None:
            return True
        taken = session.execute(
            update(Lease)
            .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
            .values(holder=holder, expires_at=expires)
            .returning(Lease.name)
        ).scalar_one_or_none()
        return taken is not None


def release_lease(sessions: sessionmaker[Session], name: str, holder: str) -> None:
    with unit_of_work(sessions) as session:
        session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


def lease_holder(sessions: sessionmaker[Session], name: str) -> str | None:
    """The current unexpired holder of ``name``, if any."""
    with unit_of_work(sessions) as session:
        return session.execute(
            select(Lease.holder).where(Lease.name == name, Lease.expires_at >= utcnow())
        ).scalar_one_or_none()
