"""Labelled rows for ``omniroute train`` and ``evaluate``: from a CSV file or from the store.

A CSV must be UTF-8 (a byte-order mark is fine) with a header row naming the text and
label columns; every row needs both, and labels are category names (lower_snake_case).
Anything else is a ``TrainingDataError`` naming the file and line. From the store come
the tickets whose category an agent corrected (``category_source == "agent"``): their
subject and first inbound message, labelled with the corrected category.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.corrections import AGENT
from ingest.models import Message, Ticket
from router.classifier.text import ticket_text

if TYPE_CHECKING:
    from _csv import Reader

MAX_CSV_BYTES = 256 * 1024 * 1024
_LABEL = re.compile(r"[a-z][a-z0-9_]{0,79}")


class TrainingDataError(Exception):
    """The rows cannot be read; ``str()`` names the file, the line and the problem."""


@dataclass(frozen=True, slots=True)
class LabelledRows:
    """Texts and their labels, in order."""

    texts: list[str]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def __add__(self, other: LabelledRows) -> LabelledRows:
        return LabelledRows(self.texts + other.texts, self.labels + other.labels)


def read_labelled_csv(path: Path, text_column: str, label_column: str) -> LabelledRows:
    """The rows of a labelled CSV file; raises ``TrainingDataError``."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CSV_BYTES + 1)
    except OSError as exc:
        raise TrainingDataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_CSV_BYTES:
        raise TrainingDataError(f"{path}: over {MAX_CSV_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrainingDataError(
            f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded); "
            "save the file as UTF-8 and try again"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _rows(path, reader, text_column, label_column)
    except csv.Error as exc:
        raise TrainingDataError(f"{path}:{reader.line_num}: not valid CSV: {exc}") from None


def _rows(path: Path, reader: Reader, text_column: str, label_column: str) -> LabelledRows:
    header = [name.strip() for name in next(reader, [])]
    if not any(header):
        raise TrainingDataError(
            f"{path}: the file is empty; expected a header row naming the columns"
        )
    missing = [name for name in (text_column, label_column) if name not in header]
    if missing:
        raise TrainingDataError(
            f"{path}: no column {' or '.join(map(repr, missing))} "
            f"(columns: {', '.join(header)}); name them with --text-column and --label-column"
        )
    text_at, label_at = header.index(text_column), header.index(label_column)
    rows = LabelledRows([], [])
    for record in reader:
        if not any(field.strip() for field in record):
            continue  # a blank line
        line = reader.line_num
        text = record[text_at].strip() if text_at < len(record) else ""
        label = record[label_at].strip() if label_at < len(record) else ""
        if not text:
            raise TrainingDataError(f"{path}:{line}: empty {text_column!r}")
        if not _LABEL.fullmatch(label):
            shown = repr(label) if label else "empty"
            raise TrainingDataError(
                f"{path}:{line}: {label_column!r} is {shown}; labels are category names "
                "(lower_snake_case, like billing or feature_request)"
            )
        rows.texts.append(text)
        rows.labels.append(label)
    if not rows:
        raise TrainingDataError(f"{path}: no rows under the header")
    return rows


def agent_corrected_rows(session: Session) -> LabelledRows:
    """Tickets whose category an agent corrected: subject and first inbound message."""
    first = (
        select(Message.ticket_id, func.min(Message.id).label("message_id"))
        .where(Message.direction == "inbound")
        .group_by(Message.ticket_id)
        .subquery()
    )
    found = session.execute(
        select(Ticket.subject, Message.body_text, Ticket.category)
        .join(first, first.c.ticket_id == Ticket.id)
        .join(Message, Message.id == first.c.message_id)
        .where(Ticket.category_source == AGENT, Ticket.category.is_not(None))
        .order_by(Ticket.id)
    ).all()
    rows = LabelledRows([], [])
    for subject, body, category in found:
        rows.texts.append(ticket_text(subject or "", body or ""))
        rows.labels.append(str(category))
    return rows
