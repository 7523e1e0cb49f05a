"""What an edge records beside the raw bytes it stores: JSON values, typed as such.

Each channel's edge writes its own keys (SMTP: ``mail_from``, ``rcpt_tos``; IMAP:
``mailbox``, ``uidvalidity``, ``uid``; Twilio: ``content_type``; Slack: ``mode``,
``retry_num``; web forms: ``acknowledge``, ``tags``); its parser and its ingest
steps read them back. The type says what may travel: values a JSON column keeps
exactly, never objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None
Envelope: TypeAlias = Mapping[str, JsonValue]


def text_list(envelope: Envelope, key: str) -> list[str]:
    """``envelope[key]`` as a list of strings (missing or not a list: empty)."""
    value = envelope.get(key)
    return [str(item) for item in value] if isinstance(value, list) else []
