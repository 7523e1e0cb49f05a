"""The web channel's reply sender: the customer typed an email address into the form,
so acknowledgements and agents' replies go there as mail, with every reference the
email channel gives (a reply to it threads back as email does)."""

from __future__ import annotations

from channels.email_sender import EmailSender
from normalize.types import PartyKind


class WebSender(EmailSender):
    """Mail to the address a form gave; the identity written to is the ``web`` one."""

    identity_kind = PartyKind.WEB
