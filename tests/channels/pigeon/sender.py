"""The pigeon channel's reply sender: notes go into a loft the test can read."""

from __future__ import annotations

from dataclasses import dataclass, field

from channels.outbound import OutboundText, Sent
from normalize.types import Party, PartyKind


@dataclass
class Loft:
    """Every note the channel carried out."""

    notes: list[OutboundText] = field(default_factory=list)


@dataclass
class PigeonSender:
    loft: Loft
    identity_kind: PartyKind = PartyKind.PHONE

    def refusal(self, recipient: Party) -> str | None:
        return None

    def reference(self, ticket_number: int) -> str | None:
        return None

    def send(self, text: OutboundText) -> Sent:
        self.loft.notes.append(text)
        return Sent(external_id=f"pigeon-{len(self.loft.notes)}")
