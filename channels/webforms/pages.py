"""The HTML of the hosted forms, thank-you, notice and follow-up pages (Jinja2, autoescaped)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

# The templates ship with the package: compiled once, never checked for changes per request.
_PAGES = Environment(
    loader=PackageLoader("channels.webforms", "templates"),
    auto_reload=False,
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def page(
    template: str, status: int = 200, headers: dict[str, str] | None = None, **values: Any
) -> HTMLResponse:
    body = _PAGES.get_template(template).render(**values)
    return HTMLResponse(body, status_code=status, headers=headers)


def notice(
    title: str,
    message: str,
    status: int,
    back: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A short page that says what happened and what to do."""
    return page("notice.html", status, headers, title=title, message=message, back=back)
