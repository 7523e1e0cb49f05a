"""Customers as an agent sees and corrects them: look up, link two, undo a link.

A reference is a customer id (``42``), an identity written ``kind:value``
(``email:jane@example.com``, ``phone:+15550100``, ``slack:T01:U02``), a bare email
address, or a bare phone number (read in the default region). Linking is an
agent's proof: it merges the second customer into the first, recorded and
reversible; unlinking an identity undoes the merge that brought it, or, for an
identity the customer always had, moves it to a customer of its own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ingest.identity import identity_row, normalized_value, owner
from ingest.merges import MergeError, merge_customers, undo_merge
from ingest.models import Customer, CustomerMerge, Identity, Message, Ticket
from normalize.phones import to_e164
from normalize.types import PartyKind

AGENT = "agent"


class CustomerNotFound(LookupError):
    """No customer matches the reference."""


def parse_identity(reference: str, default_region: str) -> tuple[str, str] | None:
    """``(kind, value)`` for an identity reference, or None for a customer id."""
    text = reference.strip()
    if text.isdigit():
        return None
    kind, sep, value = text.partition(":")
    if sep and kind.lower() in {k.value for k in PartyKind}:
        kind = kind.lower()
    elif "@" in text:
        kind, value = PartyKind.EMAIL.value, text
    else:
        kind, value = PartyKind.PHONE.value, text
    if kind == PartyKind.PHONE:
        e164 = to_e164(value, default_region)
        if e164 is None:
            raise CustomerNotFound(f"not a phone number: {value!r}")
        value = e164
    return kind, normalized_value(kind, value)


def find_customer(session: Session, reference: str, default_region: str) -> Customer:
    """The customer a reference names (following merges)."""
    parsed = parse_identity(reference, default_region)
    if parsed is None:
        customer = session.get(Customer, int(reference))
        if customer is None:
            raise CustomerNotFound(f"no customer #{reference}")
        return customer
    identity = identity_row(session, *parsed)
    if identity is None:
        raise CustomerNotFound(f"no customer has the identity {parsed[0]}:{parsed[1]}")
    return owner(session, identity)


def customer_view(session: Session, customer: Customer) -> dict[str, Any]:
    identities = session.execute(
        select(Identity).where(Identity.customer_id == customer.id).order_by(Identity.id)
    ).scalars()
    tickets = session.execute(
        select(Ticket).where(Ticket.customer_id == customer.id).order_by(Ticket.id)
    ).scalars()
    merges = session.execute(
        select(CustomerMerge)
        .where(
            (CustomerMerge.from_customer_id == customer.id)
            | (CustomerMerge.into_customer_id == customer.id)
        )
        .order_by(CustomerMerge.id)
    ).scalars()
    ticket_list = list(tickets)
    suggestions = session.execute(
        select(Message.ticket_id, Message.body_text)
        .where(
            Message.ticket_id.in_([t.id for t in ticket_list]),
            Message.kind == "event",
            Message.body_text.like("may be the same customer as %"),
        )
        .order_by(Message.id)
    ).all()
    return {
        "id": customer.id,
        "name": customer.name,
        "email": customer.email,
        "merged_into": customer.merged_into_id,
        "identities": [
            {
                "kind": i.kind,
                "value": i.value,
                "provenance": i.provenance,
                "verified": i.verified,
                "suppressed": i.bounce_reason if i.bouncing_since is not None else None,
            }
            for i in identities
        ],
        "tickets": [
            {"number": t.id, "status": t.status, "channel": t.channel, "subject": t.subject}
            for t in ticket_list
        ],
        "merges": [
            {
                "id": m.id,
                "from": m.from_customer_id,
                "into": m.into_customer_id,
                "reason": m.reason,
                "at": m.created_at.isoformat(),
                "undone_at": m.undone_at.isoformat() if m.undone_at else None,
            }
            for m in merges
        ],
        "suggestions": [{"ticket": number, "note": note} for number, note in suggestions],
    }


def link(session: Session, keep: Customer, other: Customer, *, by: str) -> CustomerMerge:
    """An agent says ``other`` is ``keep``: merge it in, recorded and reversible."""
    merge = merge_customers(session, other, keep, reason=f"linked by {by}")
    session.execute(
        update(Identity).where(Identity.id.in_(merge.identity_ids)).values(provenance=AGENT)
    )
    return merge


def unlink(session: Session, reference: str, default_region: str) -> str:
    """Undo the merge that brought an identity, or give it a customer of its own."""
    parsed = parse_identity(reference, default_region)
    if parsed is None:
        raise MergeError("unlink takes an identity (kind:value), not a customer id")
    identity = identity_row(session, *parsed)
    if identity is None:
        raise CustomerNotFound(f"no customer has the identity {parsed[0]}:{parsed[1]}")
    merges = session.execute(
        select(CustomerMerge)
        .where(CustomerMerge.undone_at.is_(None))
        .order_by(CustomerMerge.id.desc())
    ).scalars()
    for merge in merges:
        if identity.id in merge.identity_ids:
            undo_merge(session, merge)
            return f"undid merge {merge.id}: customer #{merge.from_customer_id} is separate again"
    customer = owner(session, identity)
    alone = session.execute(
        select(Identity.id).where(Identity.customer_id == customer.id, Identity.id != identity.id)
    ).first()
    if alone is None:
        raise MergeError(
            f"{identity.kind}:{identity.value} is customer #{customer.id}'s only identity"
        )
    split = Customer(name=customer.name, email=identity.value if identity.kind == "email" else None)
    session.add(split)
    session.flush()
    identity.customer_id = split.id
    identity.provenance = AGENT
    return f"{identity.kind}:{identity.value} moved to new customer #{split.id}"
