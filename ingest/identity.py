"""Customers and the identities they write from, on every channel.

A customer has many identities (an email address, a phone number, a Slack user,
a web-form email), each linked with its provenance and whether it was proven.
Two customers are merged automatically only on verified proof; an unverified
claim that an identity belongs to someone else becomes a suggestion on the
ticket, never a merge. Merges are recorded and can be undone
(:mod:`ingest.merges`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from sqlalchemy import Insert, Select, Table, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from ingest.db import insert_for_dialect
from ingest.direct_sql import rows_of
from ingest.events import record_event
from ingest.models import Customer, Identity, Ticket, utcnow
from ingest.rows import attach_loaded, insert_loaded, read_loaded, row_values
from normalize.types import Party, PartyKind

CHANNEL = "channel"

# Statements run for every inbound message are built once, with bound parameters:
# building one (ORM column comparisons, its cache key) costs more than running it.
_IDENTITY = select(Identity).where(
    Identity.kind == bindparam("kind"), Identity.value == bindparam("value")
)


_IDENTITIES = cast(Table, Identity.__table__)
_CUSTOMERS = cast(Table, Customer.__table__)
_IDENTITY_COLUMNS = tuple(_IDENTITIES.c)
_CUSTOMER_COLUMNS = tuple(_CUSTOMERS.c)
_NAME_CHARS: int = _CUSTOMERS.c.name.type.length  # type: ignore[attr-defined]


@cache
def _identities_and_customers(count: int) -> Select[Any]:
    """The identities of ``count`` (kind, value) pairs with the customers they name, in
    one query: the sender's and those the channel claims for it. Built once per count,
    with bound parameters (``k0``, ``v0``, ...): an expanding ``IN`` would be rendered
    anew on every run. Core columns, made into objects by :func:`_found`: loading
    two entities through the ORM cost more than the query."""
    return (
        select(*_IDENTITY_COLUMNS, *_CUSTOMER_COLUMNS)
        .join_from(_IDENTITIES, _CUSTOMERS, _CUSTOMERS.c.id == _IDENTITIES.c.customer_id)
        .where(
            or_(
                *(
                    and_(
                        _IDENTITIES.c.kind == bindparam(f"k{n}"),
                        _IDENTITIES.c.value == bindparam(f"v{n}"),
                    )
                    for n in range(count)
                )
            )
        )
    )


def _found(session: Session, row: tuple[Any, ...]) -> tuple[Identity, Customer]:
    """An identity and its customer from a row of :func:`_identities_and_customers`."""
    split = len(_IDENTITY_COLUMNS)
    identity = read_loaded(
        session, Identity, {c.key: v for c, v in zip(_IDENTITY_COLUMNS, row[:split], strict=True)}
    )
    customer = read_loaded(
        session, Customer, {c.key: v for c, v in zip(_CUSTOMER_COLUMNS, row[split:], strict=True)}
    )
    return identity, customer


@cache
def _insert_identity(dialect: str) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` of one identity row, built once
    per dialect on the table, not the mapped class: an ORM-enabled INSERT, and a
    ``values()`` clause made per row, cost several times the statement."""
    table = Identity.__table__
    assert isinstance(table, Table)
    statement: Insert = insert_for_dialect(dialect, table).on_conflict_do_nothing()
    return statement.returning(table.c.id)


def _add_identity(
    session: Session, customer_id: int, kind: str, value: str, *, provenance: str, verified: bool
) -> tuple[int | None, dict[str, Any]]:
    """Insert an identity row of ``customer_id``: its id (None when another transaction
    has it already) and the columns written."""
    values = row_values(
        Identity,
        {
            "customer_id": customer_id,
            "kind": kind,
            "value": value,
            "provenance": provenance,
            "verified": verified,
            "created_at": utcnow(),
        },
    )
    conn = session.connection()
    returned = rows_of(conn, _insert_identity(conn.dialect.name), values)
    return (int(returned[0][0]) if returned else None), values


Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Sender:
    """The customer an inbound message is from, and the identity it came by."""

    customer: Customer
    identity: Identity
    # The identities claimed for the sender, read with it (None: nobody had it), for
    # ``link_claims``.
    claimed: dict[Key, Identity | None] = field(default_factory=dict)


def normalized_value(kind: str, value: str) -> str:
    """Identities compare case-insensitively except Slack ids, which are case-sensitive."""
    value = value.strip()
    return value if kind == PartyKind.SLACK else value.lower()


def sender_for(
    session: Session, party: Party, *, provenance: str = CHANNEL, claims: tuple[Party, ...] = ()
) -> Sender:
    """The customer owning ``party``'s identity, created on first contact.

    Two workers meeting a new customer at once both try the insert; the unique
    constraint lets one win and the other read the winner's row. ``claims``: the
    identities the channel asserts for the sender, read in the same query and kept
    for :func:`link_claims`.
    """
    kind, value = key = _key(party)
    keys = [key, *(_key(claim) for claim in claims)]
    params = {}
    for n, (pair_kind, pair_value) in enumerate(keys):
        params[f"k{n}"], params[f"v{n}"] = pair_kind, pair_value
    session.flush()  # as an ORM query would: identities added since are found
    rows = rows_of(session.connection(), _identities_and_customers(len(keys)), params)
    found = {}
    for row in rows:
        identity, named = _found(session, row)
        found[identity.kind, identity.value] = (identity, named)
    claimed = {k: found[k][0] if k in found else None for k in keys[1:]}
    if key in found:
        existing, named = found[key]
        customer = merged_owner(session, named)
        if party.name and not customer.name:
            customer.name = _fit_name(party.name)
        if party.verified and not existing.verified:
            existing.verified = True
        return Sender(customer, existing, claimed)
    customer = insert_loaded(
        session,
        Customer,
        {
            "name": _fit_name(party.name),
            "email": value if kind in (PartyKind.EMAIL, PartyKind.WEB) else None,
        },
    )
    inserted, values = _add_identity(
        session, customer.id, kind, value, provenance=provenance, verified=party.verified
    )
    if inserted is None:
        session.delete(customer)
        winner = identity_row(session, kind, value)
        assert winner is not None
        return Sender(owner(session, winner), winner, claimed)
    identity = attach_loaded(session, Identity, {**values, "id": inserted})
    return Sender(customer, identity, claimed)


def _key(party: Party) -> Key:
    return party.kind.value, normalized_value(party.kind, party.value)


def link_claims(
    session: Session, sender: Sender, claims: tuple[Party, ...], ticket: Ticket
) -> None:
    """Link the other identities a channel asserts for ``sender`` (a Slack profile email).

    An identity nobody has yet joins the sender's customer. One that belongs to
    another customer is merged only on verified proof; an unverified claim leaves
    a suggestion on the ticket's timeline and changes nothing.
    """
    for claim in claims:
        kind, value = key = _key(claim)
        if key in sender.claimed:
            existing = sender.claimed[key]  # read with the sender
        else:
            existing = identity_row(session, kind, value)
        if existing is None:
            _add_identity(
                session,
                sender.customer.id,
                kind,
                value,
                provenance=CHANNEL,
                verified=claim.verified,
            )
            continue
        other = owner(session, existing)
        if other.id == sender.customer.id:
            if claim.verified and not existing.verified:
                existing.verified = True
            continue
        if claim.verified:
            from ingest.merges import merge_customers

            merge_customers(
                session,
                other,
                sender.customer,
                reason=f"{sender.identity.kind}:{sender.identity.value} proved {kind}:{value}",
            )
            record_event(
                session,
                ticket,
                f"customer #{other.id} merged into #{sender.customer.id}: "
                f"{kind} {value} verified by the {sender.identity.kind} channel",
            )
        else:
            record_event(
                session,
                ticket,
                f"may be the same customer as #{other.id} ({kind} {value}, "
                f"claimed by {sender.identity.kind} {sender.identity.value}, not verified)",
            )


def _fit_name(name: str) -> str:
    """A sender's name as the customer's column keeps it (a display name has no limit)."""
    return name[:_NAME_CHARS]


def customer_for(session: Session, kind: str, value: str, name: str = "") -> Customer:
    """The customer owning identity ``(kind, value)``, created on first contact."""
    return sender_for(session, Party(PartyKind(kind), value, name)).customer


def identity_row(session: Session, kind: str, value: str) -> Identity | None:
    found = session.execute(_IDENTITY, {"kind": kind, "value": normalized_value(kind, value)})
    return found.scalar_one_or_none()


def owner(session: Session, identity: Identity) -> Customer:
    """The customer an identity belongs to now (following merges)."""
    customer = session.get(Customer, identity.customer_id)
    assert customer is not None
    return merged_owner(session, customer)


def merged_owner(session: Session, customer: Customer) -> Customer:
    """``customer``, or the customer it was merged into (following merges)."""
    seen = {customer.id}
    while customer.merged_into_id is not None and customer.merged_into_id not in seen:
        seen.add(customer.merged_into_id)
        merged = session.get(Customer, customer.merged_into_id)
        assert merged is not None
        customer = merged
    return customer


def mark_bouncing(
    session: Session, addresses: tuple[str, ...], status: str | None, diagnostic: str | None
) -> None:
    """Record that mail to these addresses bounces; automated sends skip them from now on."""
    reason = " ".join(part for part in (status, diagnostic) if part)[:1000] or "bounced"
    for address in addresses:
        identity = identity_row(session, "email", address)
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


def suppress(session: Session, party: Party, reason: str) -> None:
    """Send nothing automated to ``party`` from now on (a bounce, an SMS opt-out)."""
    identity = sender_for(session, party).identity
    identity.bouncing_since = identity.bouncing_since or utcnow()
    identity.bounce_reason = reason[:1000]


def unsuppress(session: Session, party: Party) -> None:
    """Lift a suppression (an SMS ``START``)."""
    identity = identity_row(session, party.kind.value, party.value)
    if identity is not None:
        identity.bouncing_since = None
        identity.bounce_reason = None


def suppression_of(session: Session, party: Party) -> str | None:
    """Why nothing automated goes to ``party`` (it bounces, it opted out), or None."""
    identity = identity_row(session, party.kind.value, party.value)
    if identity is None or identity.bouncing_since is None:
        return None
    return identity.bounce_reason or "suppressed"
