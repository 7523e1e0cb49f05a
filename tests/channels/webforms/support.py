"""What the form tests share: a served app, and a client that fills in forms like a browser."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from channels.web import create_app
from config.form_settings import FormSettings
from config.settings import Settings
from ingest.models import FormRefusal, InboundRecord, Message, Ticket
from tests.servers import http_server

JSON = {"Accept": "application/json"}


class _Inputs(HTMLParser):
    """Every ``<input type=hidden>`` of the page's form, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.trap: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "input" and found.get("type") == "hidden":
            self.hidden[found["name"]] = found.get("value", "")
        if tag == "input" and found.get("tabindex") == "-1":
            self.trap[found["name"]] = found.get("value", "")


def hidden_inputs(html: str) -> dict[str, str]:
    """The hidden inputs a browser would send back, the empty honeypot included."""
    parser = _Inputs()
    parser.feed(html)
    return {**parser.hidden, **parser.trap}


def contact(**values: str) -> dict[str, str]:
    base = {
        "name": "Jane Doe",
        "email": "jane@example.org",
        "subject": "Cannot log in",
        "message": "The login page says my password is wrong.",
    }
    return {**base, **values}


@dataclass
class FormSite:
    """A served app and an HTTP client pointed at it."""

    url: str
    http: httpx.Client

    def fresh(self, form: str = "contact") -> dict[str, str]:
        page = self.http.get(f"/forms/{form}")
        assert page.status_code == 200
        return hidden_inputs(page.text)

    def post(self, values: dict[str, str], form: str = "contact", **kwargs: Any) -> httpx.Response:
        return self.http.post(f"/forms/{form}", data={**self.fresh(form), **values}, **kwargs)


@contextmanager
def form_site(
    sessions: sessionmaker[Session], settings: Settings, limits: FormSettings | None = None
) -> Iterator[FormSite]:
    app = create_app(sessions, settings=settings, form_limits=limits or FormSettings(min_seconds=0))
    with http_server(app) as url, httpx.Client(base_url=url) as http:
        yield FormSite(url, http)


def count(sessions: sessionmaker[Session], model: type[Any]) -> int:
    with sessions() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def stored(sessions: sessionmaker[Session]) -> tuple[int, int, int, int]:
    """Inbound records, tickets, messages and refusals in the store."""
    return (
        count(sessions, InboundRecord),
        count(sessions, Ticket),
        count(sessions, Message),
        count(sessions, FormRefusal),
    )
