"""A ticket opened in the current transaction, handed from ingest to the steps that follow."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.models import Message, Ticket


@dataclass(frozen=True, slots=True)
class Opened:
    """``first`` opened ``ticket`` in this transaction.

    The steps that follow in the same transaction (triage, the acknowledgement's
    plan) take both from here instead of reading them back: the ticket is new, so
    it holds no decision, breach or acknowledgement yet, and no other transaction
    can see it, let alone lock it.
    """

    ticket: Ticket
    first: Message
