"""Make an HTML mail body safe to show and readable as plain text."""

from __future__ import annotations

import html as html_entities
import re
from typing import Any

import nh3
from inscriptis import get_text
from inscriptis.model.config import ParserConfig
from inscriptis.model.tag import CustomHtmlTagHandlerMapping

# Scripts, styles and the document head hold no message text.
_DROP_WITH_CONTENT = frozenset({"script", "style", "head", "title"})
# cid: (RFC 2392) points at an inline part of the same message, so it is safe to keep.
_URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "cid"})
_REMOTE = ("http://", "https://", "//")
_TAG = re.compile(r"<[^>]*>")


def sanitize_html(markup: str) -> str:
    """HTML with no scripts, event handlers, styles or remote images (tracking pixels)."""
    try:
        return str(
            nh3.clean(
                markup,
                clean_content_tags=set(_DROP_WITH_CONTENT),
                url_schemes=set(_URL_SCHEMES),
                attribute_filter=_drop_remote_image,
            )
        ).strip()
    except Exception:  # never lose a message to the sanitizer; fall back to escaped text
        return html_entities.escape(html_to_text(markup))


def _drop_remote_image(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and value.strip().lower().startswith(_REMOTE):
        return None
    return value


def _link_start(state: Any, attrs: dict[str, str]) -> None:
    href = str(attrs.get("href", "")).strip()
    state.link_target = href if href.lower().startswith(("http://", "https://")) else ""


def _link_end(state: Any) -> None:
    if state.link_target:
        state.tags[-1].write(f" ({state.link_target})")


_CONFIG = ParserConfig(
    display_links=True,
    custom_html_tag_handler_mapping=CustomHtmlTagHandlerMapping(
        start_tag_mapping={"a": _link_start},
        end_tag_mapping={"a": _link_end},
    ),
)


def html_to_text(markup: str) -> str:
    """Readable text: line breaks and list items kept, links written as ``text (url)``."""
    try:
        return str(get_text(markup, _CONFIG))
    except Exception:  # lxml rejects some inputs (control characters, deep nesting)
        return html_entities.unescape(_TAG.sub(" ", markup))
