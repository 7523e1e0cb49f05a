"""The pigeon channel's edge: store the note with its dedupe key, then answer."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ingest.accept import Accepted, accept_raw
from tests.channels.pigeon.parser import CHANNEL


def accept_note(sessions: sessionmaker[Session], note: dict[str, Any]) -> Accepted:
    raw = json.dumps(note, sort_keys=True).encode()
    return accept_raw(
        sessions, channel=CHANNEL, dedupe_key=f"pigeon:{note['id']}", raw=raw, envelope={}
    )
