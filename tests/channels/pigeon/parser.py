"""The pigeon channel's parser: a JSON note with sender, our number, text and id."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from normalize.errors import Unparseable
from normalize.types import InboundMessage, ParseContext, ParsedInput, Party, PartyKind

CHANNEL = "pigeon"


def parse_pigeon(raw: bytes, envelope: Mapping[str, Any], context: ParseContext) -> ParsedInput:
    try:
        note = json.loads(raw)
        sender, ours, text, note_id = note["from"], note["to"], note["text"], note["id"]
    except (ValueError, KeyError, TypeError) as exc:
        raise Unparseable(f"not a pigeon note: {exc}") from None
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    # A note may say which email its sender has, and whether the loft checked it.
    claims = (
        (Party(PartyKind.EMAIL, note["email"], verified=bool(note.get("email_verified"))),)
        if note.get("email")
        else ()
    )
    return ParsedInput(
        InboundMessage(
            channel=CHANNEL,
            external_id=note_id,
            sender=Party(PartyKind.PHONE, sender, note.get("name", ""), verified=True),
            subject=first_line[:80],
            body_text=text,
            body_full=text,
            conversation_key=f"{sender}:{ours}",
            also_known_as=claims,
        )
    )
