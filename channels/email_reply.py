"""Outbound email: an agent's reply to the customer, threaded onto their last message.

A person wrote it, so unlike the acknowledgement it carries no RFC 3834
``Auto-Submitted`` header: the customer's mail client treats it as an ordinary
reply, and their out-of-office answers are welcome (they land on the ticket as notes).
It carries the same references we put in all our mail: the ``[Ticket #N]`` subject
tag, a signed Message-ID and a signed ``Reply-To`` plus-address, so the customer's
answer threads back from any client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from channels.mail_headers import mailbox, new_message
from ingest.models import utcnow
from ingest.reply_author import author_problem
from normalize.threadkeys import subject_tag

# RFC 5322 3.6.4 asks for the parent's references; we keep the newest of them.
MAX_REFERENCES = 20
_REPLY_PREFIX = re.compile(r"^\s*re\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AgentReply:
    ticket_number: int
    author: str
    body: str
    subject: str
    to_address: str
    to_name: str
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    from_address: str
    from_name: str
    reply_to: str


def reply_subject(number: int, subject: str) -> str:
    """``[Ticket #N] Re: <subject>``, without doubling a tag or a ``Re:`` already there."""
    tag = subject_tag(number)
    original = _REPLY_PREFIX.sub("", subject.strip()) or "your message"
    return f"Re: {original}" if tag in original else f"{tag} Re: {original}"


def from_display_name(reply: AgentReply) -> str:
    """``alice (Support)``; just the support name when the stored author is unfit for a
    header (authors are checked before they are stored; this guards older rows)."""
    if author_problem(reply.author) is not None:
        return reply.from_name
    return f"{reply.author.strip()} ({reply.from_name})"


def build_reply(reply: AgentReply) -> EmailMessage:
    """The mail that carries an agent's answer to the customer."""
    message = new_message(reply.to_address)
    message["From"] = mailbox(from_display_name(reply), reply.from_address)
    message["To"] = mailbox(reply.to_name, reply.to_address)
    message["Subject"] = reply_subject(reply.ticket_number, reply.subject)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = reply.message_id
    if reply.in_reply_to:
        message["In-Reply-To"] = reply.in_reply_to
    chain = [*reply.references, *([reply.in_reply_to] if reply.in_reply_to else [])]
    if chain:
        # Each id once, at its last place, so the parent stays the last one named.
        unique = list(reversed(dict.fromkeys(reversed(chain))))
        message["References"] = " ".join(unique[-MAX_REFERENCES:])
    # The signed plus-address: the answer threads even if subject and headers are lost.
    message["Reply-To"] = mailbox(reply.from_name, reply.reply_to)
    message.set_content(reply.body if reply.body.endswith("\n") else reply.body + "\n")
    return message
