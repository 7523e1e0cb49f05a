"""Labelled rows for ``omniroute train`` and ``evaluate``: from a CSV file or from the store.

A CSV must be UTF-8 (a byte-order mark is fine) with a header row naming the text and
label columns; every row needs both. Labels are kept as the desk names them
(``Technical Support``, ``ORDER``: spacing collapsed, at most 80 characters, no
control characters), or translated by a label map (``--map FILE``: a YAML mapping of
desk labels to categories). Anything else is a ``TrainingDataError`` naming the file
and line. From the store come
the tickets whose category an agent corrected (``category_source == "agent"``): their
subject and first inbound message, labelled with the corrected category.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.corrections import AGENT
from ingest.models import Message, Ticket
from router.classifier.text import ticket_text

if TYPE_CHECKING:
    from _csv import Reader

MAX_CSV_BYTES = 256 * 1024 * 1024
MAX_MAP_BYTES = 1024 * 1024
MAX_LABEL_CHARS = 80
LabelMap = dict[str, str]


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


def read_label_map(path: Path) -> LabelMap:
    """A YAML mapping of desk labels to categories (``Technical Support: technical``)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_MAP_BYTES + 1)
    except OSError as exc:
        raise TrainingDataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_MAP_BYTES:
        raise TrainingDataError(f"{path}: over {MAX_MAP_BYTES} bytes")
    try:
        document = yaml.safe_load(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TrainingDataError(f"{path}: not a YAML label map: {exc}") from None
    if not isinstance(document, dict) or not document:
        raise TrainingDataError(
            f"{path}: expected a mapping of desk labels to categories, "
            "like `Technical Support: technical`"
        )
    mapping: LabelMap = {}
    for key, value in document.items():
        label, category = _label(str(key)), _label(str(value)) if value is not None else None
        if label is None or category is None:
            raise TrainingDataError(f"{path}: {key!r}: {value!r} is not a label and a category")
        mapping[label] = category
    return mapping


def read_labelled_csv(
    path: Path, text_column: str, label_column: str, mapping: LabelMap | None = None
) -> LabelledRows:
    """The rows of a labelled CSV file, labels translated by ``mapping``; raises
    ``TrainingDataError``."""
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
        return _rows(path, reader, text_column, label_column, mapping or {})
    except csv.Error as exc:
        raise TrainingDataError(f"{path}:{reader.line_num}: not valid CSV: {exc}") from None


def _rows(
    path: Path, reader: Reader, text_column: str, label_column: str, mapping: LabelMap
) -> LabelledRows:
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
        given = record[label_at] if label_at < len(record) else ""
        if not text:
            raise TrainingDataError(f"{path}:{line}: empty {text_column!r}")
        label = _label(given)
        if label is None:
            shown = repr(given.strip()) if given.strip() else "empty"
            raise TrainingDataError(
                f"{path}:{line}: {label_column!r} is {shown}; a label is 1 to "
                f"{MAX_LABEL_CHARS} characters of text"
            )
        rows.texts.append(text)
        rows.labels.append(mapping.get(label, label))
    if not rows:
        raise TrainingDataError(f"{path}: no rows under the header")
    return rows


def _label(given: str) -> str | None:
    """The label with its spacing collapsed; None when empty, too long or not text."""
    label = " ".join(given.split())
    if not label or len(label) > MAX_LABEL_CHARS:
        return None
    if any(unicodedata.category(char).startswith("C") for char in label):
        return None
    return label


def agent_corrected_rows(session: Session) -> LabelledRows:
    """Tickets whose category an agent corrected: subject and first inbound message."""
    rows = LabelledRows([], [])
    for _, text, category in agent_corrected_tickets(session):
        rows.texts.append(text)
        rows.labels.append(category)
    return rows


def agent_corrected_tickets(session: Session) -> list[tuple[int, str, str]]:
    """``(ticket id, text, category)`` of every ticket whose category an agent corrected."""
    first = (
        select(Message.ticket_id, func.min(Message.id).label("message_id"))
        .where(Message.direction == "inbound")
        .group_by(Message.ticket_id)
        .subquery()
    )
    found = session.execute(
        select(Ticket.id, Ticket.subject, Message.body_text, Ticket.category)
        .join(first, first.c.ticket_id == Ticket.id)
        .join(Message, Message.id == first.c.message_id)
        .where(Ticket.category_source == AGENT, Ticket.category.is_not(None))
        .order_by(Ticket.id)
    ).all()
    return [
        (ticket_id, ticket_text(subject or "", body or ""), str(category))
        for ticket_id, subject, body, category in found
    ]
