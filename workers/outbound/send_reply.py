"""Send an agent's reply to the customer on the reply's channel, once per reply.

The reply was stored with its channel and recipient identity when the agent wrote
it (:mod:`ingest.agent_reply`); this looks the channel's sender up and sends it
through :func:`workers.outbound.send.send_outbound`, which keeps the delivery
state. A person wrote the reply, so the automated-send rate limit does not apply;
an identity that bounces or opted out, one of our own addresses, or a channel
without a sender is never written to, and the reason is kept on the message.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session, sessionmaker

from channels.outbound import OutboundText, ReplySender
from ingest.agent_reply import KIND
from ingest.db import unit_of_work
from ingest.identity import is_bouncing, suppression_of
from ingest.models import Message, Ticket
from normalize.types import Party, PartyKind
from workers.outbound.send import conversation_ids, send_outbound


def send_reply(
    sessions: sessionmaker[Session], senders: Mapping[str, ReplySender], message_id: int
) -> str:
    """Send reply ``message_id`` unless it was sent or cannot be; returns where it stands."""
    with unit_of_work(sessions) as session:
        message = session.get(Message, message_id)
        if message is None or message.direction != "outbound" or message.kind != KIND:
            return "missing"
    state = send_outbound(sessions, senders, message_id, _reply_text)
    return "not sent" if state == "failed" else state


def _reply_text(
    session: Session, message: Message, ticket: Ticket, recipient: Party
) -> OutboundText | str:
    if recipient.kind in (PartyKind.EMAIL, PartyKind.WEB) and is_bouncing(session, recipient.value):
        return "the customer's address bounces"
    suppressed = suppression_of(session, recipient)
    if suppressed is not None:
        return f"the customer's {recipient.kind.value} is suppressed: {suppressed}"
    parent, references = conversation_ids(session, message)
    return OutboundText(
        ticket_number=ticket.id,
        purpose="reply",
        recipient=recipient,
        subject=ticket.subject,
        body=message.body_text,
        conversation_key=message.conversation_key,
        author=message.sender,
        reference=message.message_id_header,
        in_reply_to=parent,
        references=references,
    )
