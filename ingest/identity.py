"""Customers and the identities they write from."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.db import insert_ignoring_conflicts
from ingest.models import Customer, Identity, utcnow


def customer_for(session: Session, kind: str, value: str, name: str = "") -> Customer:
    """The customer owning identity ``(kind, value)``, created on first contact.

    Two workers meeting a new customer at once both try the insert; the unique
    constraint lets one win and the other read the winner's row.
    """
    value = value.strip().lower()
    existing = _lookup(session, kind, value)
    if existing is not None:
        if name and not existing.name:
            existing.name = name
        return existing
    customer = Customer(name=name, email=value if kind == "email" else None)
    session.add(customer)
    session.flush()
    inserted = session.execute(
        insert_ignoring_conflicts(session, Identity)
        .values(customer_id=customer.id, kind=kind, value=value)
        .returning(Identity.id)
    ).scalar_one_or_none()
    if inserted is None:
        session.delete(customer)
        winner = _lookup(session, kind, value)
        assert winner is not None
        return winner
    return customer


def _lookup(session: Session, kind: str, value: str) -> Customer | None:
    return session.execute(
        select(Customer)
        .join(Identity, Identity.customer_id == Customer.id)
        .where(Identity.kind == kind, Identity.value == value)
    ).scalar_one_or_none()


def mark_bouncing(
    session: Session, addresses: tuple[str, ...], status: str | None, diagnostic: str | None
) -> None:
    """Record that mail to these addresses bounces; automated sends skip them from now on."""
    reason = " ".join(part for part in (status, diagnostic) if part)[:1000] or "bounced"
    for address in addresses:
        identity = session.execute(
            select(Identity).where(Identity.kind == "email", Identity.value == address.lower())
        ).scalar_one_or_none()
        if identity is not None and identity.bouncing_since is None:
            identity.bouncing_since = utcnow()
            identity.bounce_reason = reason


def is_bouncing(session: Session, address: str) -> bool:
    since = session.execute(
        select(Identity.bouncing_since).where(
            Identity.kind == "email", Identity.value == address.lower()
        )
    ).scalar_one_or_none()
    return since is not None
