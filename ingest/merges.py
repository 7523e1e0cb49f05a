"""Merging two customers into one, recorded so an agent can undo it.

A merge moves the identities and tickets of one customer to another and marks
the first as merged; the record names exactly what moved, so undoing it moves
those back and nothing else.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ingest.models import Customer, CustomerMerge, Identity, Ticket, utcnow


class MergeError(ValueError):
    """A merge or unmerge that cannot be done, with the reason."""


def merge_customers(
    session: Session, source: Customer, target: Customer, *, reason: str
) -> CustomerMerge:
    """Move ``source``'s identities and tickets to ``target``; flushed, so it has an id."""
    if source.id == target.id:
        raise MergeError(f"customer #{source.id} cannot be merged into itself")
    if target.merged_into_id is not None:
        raise MergeError(f"customer #{target.id} was itself merged into #{target.merged_into_id}")
    identity_ids = list(
        session.execute(select(Identity.id).where(Identity.customer_id == source.id)).scalars()
    )
    ticket_ids = list(
        session.execute(select(Ticket.id).where(Ticket.customer_id == source.id)).scalars()
    )
    if identity_ids:
        session.execute(
            update(Identity).where(Identity.id.in_(identity_ids)).values(customer_id=target.id)
        )
    if ticket_ids:
        session.execute(
            update(Ticket).where(Ticket.id.in_(ticket_ids)).values(customer_id=target.id)
        )
    source.merged_into_id = target.id
    if not target.name and source.name:
        target.name = source.name
    merge = CustomerMerge(
        from_customer_id=source.id,
        into_customer_id=target.id,
        identity_ids=identity_ids,
        ticket_ids=ticket_ids,
        reason=reason,
    )
    session.add(merge)
    session.flush()
    session.expire_all()
    return merge


def undo_merge(session: Session, merge: CustomerMerge) -> None:
    """Move back exactly what ``merge`` moved, and unmark the source customer."""
    if merge.undone_at is not None:
        raise MergeError(f"merge {merge.id} was already undone")
    if merge.identity_ids:
        session.execute(
            update(Identity)
            .where(Identity.id.in_(merge.identity_ids))
            .values(customer_id=merge.from_customer_id)
        )
    if merge.ticket_ids:
        session.execute(
            update(Ticket)
            .where(Ticket.id.in_(merge.ticket_ids))
            .values(customer_id=merge.from_customer_id)
        )
    source = session.get(Customer, merge.from_customer_id)
    assert source is not None
    source.merged_into_id = None
    merge.undone_at = utcnow()
    session.flush()
