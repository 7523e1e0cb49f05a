"""The HTML of the hosted forms, thank-you, notice and follow-up pages (Jinja2, autoescaped)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from starlette.responses import HTMLResponse

if TYPE_CHECKING:
    from jinja2 import Environment


@cache
def _pages() -> Environment:
    """The templates ship with the package: compiled once, never checked for changes per
    request. Made at the first page: a process that serves none never loads Jinja2."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("channels.webforms", "templates"),
        auto_reload=False,
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page(
    template: str, status: int = 200, headers: dict[str, str] | None = None, **values: Any
) -> HTMLResponse:
    body = _pages().get_template(template).render(**values)
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
