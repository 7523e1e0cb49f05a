"""The console's pages and actions, each a Starlette endpoint behind the admin sign-in."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from channels.console import ActionRefused, ConsoleConfig
from channels.console.auth import (
    CSRF_FIELD,
    FormRefused,
    checked_form,
    csrf_token,
    keep_csrf,
    session_token,
    sign_in,
    sign_out,
)
from channels.console.charts import bar_chart, line_chart
from channels.edge_metrics import refused
from ingest.console_views import (
    FAILING,
    TicketFilter,
    failed_work,
    failing_deliveries,
    filter_tickets,
    held_inbound,
    sla_breaches,
    ticket_deliveries,
    ticket_filter_choices,
)
from ingest.db import read_only, unit_of_work
from ingest.health_report import health_report
from ingest.models import utcnow
from ingest.ops_queries import intake_by_channel, intake_series, refusals_by_reason
from ingest.views import show_ticket

if TYPE_CHECKING:
    from jinja2 import Environment

HERE = Path(__file__).parent
Handler = Callable[[Request], Awaitable[Response]]
PAGES = (
    ("overview", "/console", "Overview"),
    ("tickets", "/console/tickets", "Tickets"),
    ("deliveries", "/console/deliveries", "Deliveries"),
    ("inbound", "/console/inbound", "Held input"),
    ("sla", "/console/sla", "SLA"),
    ("health", "/console/health", "Health"),
)


def console_routes(sessions: sessionmaker[Session], config: ConsoleConfig) -> list[BaseRoute]:
    return ConsolePages(sessions, config).routes()


class ConsolePages:
    def __init__(self, sessions: sessionmaker[Session], config: ConsoleConfig) -> None:
        self.sessions = sessions
        self.config = config

    @cached_property
    def templates(self) -> Environment:
        """Made at the first page: a process whose console is never opened never loads
        Jinja2."""
        from jinja2 import Environment, FileSystemLoader, select_autoescape

        return Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def routes(self) -> list[BaseRoute]:
        guard = self.signed_in
        retry = self.action(
            self.config.retry_delivery,
            "delivery {item} queued for another attempt",
            "/console/deliveries",
        )
        release = self.action(
            self.config.release_inbound,
            "inbound {item} released: it goes through ingest again",
            "/console/inbound",
        )
        return [
            Route("/console/login", self.login_page, methods=["GET"]),
            Route("/console/login", self.login, methods=["POST"]),
            Route("/console/logout", self.logout, methods=["POST"]),
            Route("/console", guard(self.overview)),
            Route("/console/tickets", guard(self.tickets)),
            Route("/console/tickets/{number}", guard(self.ticket)),
            Route("/console/deliveries", guard(self.deliveries)),
            Route("/console/deliveries/{item:int}/retry", guard(retry), methods=["POST"]),
            Route("/console/inbound", guard(self.inbound)),
            Route("/console/inbound/{item:int}/release", guard(release), methods=["POST"]),
            Route("/console/sla", guard(self.sla)),
            Route("/console/health", guard(self.health)),
            Mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static"),
        ]

    def render(self, request: Request, name: str, code: int = 200, **values: Any) -> Response:
        page = self.templates.get_template(name).render(
            pages=PAGES,
            csrf_field=CSRF_FIELD,
            csrf=csrf_token(request),
            note=request.query_params.get("note"),
            signed_in=session_token(request) is not None,
            **values,
        )
        response = HTMLResponse(page, status_code=code)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'"
        )
        keep_csrf(request, response, self.config.secure_cookies)
        return response

    def signed_in(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            token = session_token(request)
            allowed = token is not None and await asyncio.to_thread(
                self.config.is_admin_token, token
            )
            if not allowed:
                if request.method != "GET":
                    return self.render(
                        request, "login.html", 401, error="sign in with an admin token"
                    )
                target = "/console/login?" + urlencode({"next": request.url.path})
                return RedirectResponse(target, status_code=303)
            return await handler(request)

        return guarded

    async def read(self, load: Callable[[Session], Any]) -> Any:
        def run() -> Any:
            with read_only(self.sessions) as session:
                return load(session)

        return await asyncio.to_thread(run)

    async def login_page(self, request: Request) -> Response:
        return self.render(request, "login.html", next=_local(request.query_params.get("next")))

    async def login(self, request: Request) -> Response:
        try:
            form = await checked_form(request)
        except FormRefused as exc:
            refused("console", "bad form")
            return self.render(request, "login.html", 400, error=str(exc))
        token = form.get("token", "").strip()
        if not token or not await asyncio.to_thread(self.config.is_admin_token, token):
            refused("console", "bad token" if token else "missing token")
            return self.render(
                request, "login.html", 401, error="that token is unknown, revoked or not admin"
            )
        response = RedirectResponse(_local(form.get("next")), status_code=303)
        sign_in(response, token, self.config.secure_cookies)
        return response

    async def logout(self, request: Request) -> Response:
        try:
            await checked_form(request)
        except FormRefused as exc:
            return self.render(request, "login.html", 400, error=str(exc))
        response = RedirectResponse("/console/login", status_code=303)
        sign_out(response)
        return response

    async def overview(self, request: Request) -> Response:
        def load(session: Session) -> dict[str, Any]:
            now = utcnow()
            series = intake_series(session, hours=24, bucket_minutes=60, now=now)
            return {
                "hour_by_channel": {
                    row.channel: row
                    for row in intake_by_channel(session, since=now - timedelta(hours=1))
                },
                "day": intake_by_channel(session, since=now - timedelta(days=1)),
                "intake_chart": Markup(  # noqa: S704 - built from numbers and escaped labels
                    bar_chart(
                        "Inbound messages per hour, last 24 hours",
                        [(b.start, float(b.received)) for b in series],
                    )
                ),
                "lag_chart": Markup(  # noqa: S704 - built from numbers and escaped labels
                    line_chart(
                        "Average lag from receipt to ticket, per hour",
                        [(b.start, b.lag_avg_seconds) for b in series],
                        " s",
                    )
                ),
                "health": health_report(session),
                "failing": len(failing_deliveries(session)),
                "held": len(held_inbound(session)),
                "breaches": len(sla_breaches(session, limit=1000)),
            }

        return self.render(request, "overview.html", current="overview", **await self.read(load))

    async def tickets(self, request: Request) -> Response:
        params = request.query_params
        wanted = TicketFilter(
            status=params.get("status") or None,
            channel=params.get("channel") or None,
            team=params.get("team") or None,
            priority=params.get("priority") or None,
            text=(params.get("text") or "").strip()[:200] or None,
        )

        def load(session: Session) -> dict[str, Any]:
            return {
                "rows": filter_tickets(session, wanted),
                "choices": ticket_filter_choices(session),
                "wanted": wanted,
            }

        return self.render(request, "tickets.html", current="tickets", **await self.read(load))

    async def ticket(self, request: Request) -> Response:
        raw = request.path_params["number"]
        if not raw.isdigit():
            return self.render(
                request, "missing.html", 404, current="tickets", what=f"ticket {raw}"
            )
        number = int(raw)

        def load(session: Session) -> dict[str, Any] | None:
            view = show_ticket(session, number)
            if view is None:
                return None
            return {"ticket": view, "deliveries": ticket_deliveries(session, number)}

        found = await self.read(load)
        if found is None:
            return self.render(
                request, "missing.html", 404, current="tickets", what=f"ticket #{number}"
            )
        return self.render(request, "ticket.html", current="tickets", **found)

    async def deliveries(self, request: Request) -> Response:
        status = request.query_params.get("status")
        status = status if status in FAILING else None
        rows = await self.read(lambda session: failing_deliveries(session, status))
        return self.render(
            request,
            "deliveries.html",
            current="deliveries",
            rows=rows,
            status=status,
            statuses=FAILING,
        )

    async def inbound(self, request: Request) -> Response:
        def load(session: Session) -> dict[str, Any]:
            return {
                "held": held_inbound(session),
                "refusals": refusals_by_reason(session),
                "bugs": failed_work(session),
            }

        return self.render(request, "inbound.html", current="inbound", **await self.read(load))

    async def sla(self, request: Request) -> Response:
        rows = await self.read(sla_breaches)
        return self.render(request, "sla.html", current="sla", rows=rows)

    async def health(self, request: Request) -> Response:
        report = await self.read(health_report)
        return self.render(request, "health.html", current="health", health=report)

    def action(self, run: Callable[[Session, int], object], done: str, back: str) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                await checked_form(request)
            except FormRefused as exc:
                return self.render(request, "missing.html", 400, what=str(exc))
            item = int(request.path_params["item"])

            def apply() -> str:
                try:
                    with unit_of_work(self.sessions) as session:
                        run(session, item)
                except ActionRefused as exc:
                    return str(exc)
                return done.format(item=item)

            note = await asyncio.to_thread(apply)
            return RedirectResponse(f"{back}?{urlencode({'note': note})}", status_code=303)

        return endpoint


def _local(target: str | None) -> str:
    """Only a path inside the console: a sign-in never sends anyone elsewhere."""
    if target and target.startswith("/console") and "//" not in target and "\\" not in target:
        return target
    return "/console"
