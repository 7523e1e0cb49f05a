"""Acknowledgement texts: one template per channel and language, overridable by the operator.

Files are named ``acknowledgement.<channel>.<language>.txt`` and use ``$name``
placeholders (:class:`string.Template`): ``$number``, ``$subject``, ``$name``,
``$greeting_name`` (the name with a leading space, or nothing), ``$support_name``
and ``$link`` (a customer-visible link where the channel has one). The lookup
tries the operator's folder (``OMNIROUTE_TEMPLATES_DIR``) before the shipped
texts, the ticket's language before English, and the channel before ``default``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

SHIPPED = Path(__file__).with_name("templates")
FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class AckValues:
    number: int
    subject: str
    name: str
    support_name: str
    link: str = ""


def render_acknowledgement(
    channel: str, language: str | None, values: AckValues, override_dir: Path | None = None
) -> str:
    """The acknowledgement text for ``channel`` in ``language`` (falling back to English)."""
    template = _template("acknowledgement", channel, language, override_dir)
    return template.safe_substitute(
        number=values.number,
        subject=values.subject,
        name=values.name,
        greeting_name=f" {values.name}" if values.name else "",
        support_name=values.support_name,
        link=values.link,
    )


def _template(kind: str, channel: str, language: str | None, override_dir: Path | None) -> Template:
    languages = [lang for lang in (language, FALLBACK_LANGUAGE) if lang]
    for folder in (override_dir, SHIPPED):
        if folder is None:
            continue
        for name in (channel, "default"):
            for lang in dict.fromkeys(languages):
                found = _read(folder / f"{kind}.{name}.{lang}.txt")
                if found is not None:
                    return found
    raise LookupError(f"no {kind} template for channel {channel!r}")


@cache
def _read_shipped(path: Path) -> Template | None:
    return Template(path.read_text(encoding="utf-8")) if path.is_file() else None


def _read(path: Path) -> Template | None:
    """Shipped texts are read once; the operator's are read each time, so edits apply."""
    if path.parent == SHIPPED:
        return _read_shipped(path)
    return Template(path.read_text(encoding="utf-8")) if path.is_file() else None
