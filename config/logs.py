"""How every process logs: text for people or JSON lines for a log pipeline.

``OMNIROUTE_LOG_FORMAT=json`` makes each record one JSON object on one line, with
the process role and the ids of the work in hand (``inbound_id``, ``ticket_id``,
``delivery_id``, ``channel``) as fields; in text they follow the message in
brackets. Email addresses in messages are redacted in both forms (``j***@example.com``)
so a log shipped elsewhere does not carry customers' addresses.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

CONTEXT_FIELDS = ("role", "channel", "inbound_id", "ticket_id", "delivery_id")
_context: contextvars.ContextVar[dict[str, object] | None] = contextvars.ContextVar(
    "omniroute_log_context", default=None
)
_ADDRESS = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")


def redact_addresses(text: str) -> str:
    """``jane.doe@example.com`` -> ``j***@example.com``: the domain helps, the person stays."""
    return _ADDRESS.sub(r"\1***@\2", text)


@contextmanager
def log_context(**ids: object) -> Iterator[None]:
    """Name the work in hand (``ticket_id=3``) on every record logged inside the block.

    Only the names in ``CONTEXT_FIELDS`` are used; ``None`` values are left out.
    """
    _check(ids)
    token = _context.set({**current_context(), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def _check(ids: dict[str, object]) -> None:
    unknown = set(ids) - set(CONTEXT_FIELDS[1:])
    if unknown:
        raise ValueError(f"not a log context field: {', '.join(sorted(unknown))}")


class ContextFilter(logging.Filter):
    """Puts the role, the ids in context, and a redacted message on each record."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_addresses(record.getMessage())
        record.args = None
        record.role = self.role
        for name, value in current_context().items():
            setattr(record, name, value)
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [
            f"{name}={getattr(record, name)}"
            for name in CONTEXT_FIELDS[1:]
            if hasattr(record, name)
        ]
        return f"{line} [{' '.join(ids)}]" if ids else line


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        timestamp=False,
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        json_default=str,
        static_fields={},
        reserved_attrs=_reserved(),
    )


def _reserved() -> list[str]:
    # Everything a LogRecord carries that is not ours stays out of the JSON object;
    # our context fields and anything passed as ``extra=`` go in.
    probe = logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)
    return [name for name in vars(probe) if name not in {"message", "asctime"}] + [
        "taskName",
        "color_message",
    ]


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stderr handler ``configure_logging`` installs."""


def configure_logging(
    level: str, log_format: str, role: str, *, stream: TextIO | None = None
) -> None:
    """Route every logger of this process to stderr in ``log_format`` at ``level``."""
    handler = _OurHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter(role))
    handler.setFormatter(json_formatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    # Replace our own handler when called again; leave others' (a test's capture) alone.
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # aiosmtpd logs every protocol line at INFO, uvicorn its own access lines; keep
    # those for DEBUG (the web role writes its own access line, see channels/access_log.py).
    quiet = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for name in ("mail.log", "uvicorn.access", "botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(quiet)


def current_context() -> dict[str, Any]:
    """The ids named by the enclosing ``log_context`` blocks."""
    return dict(_context.get() or {})
