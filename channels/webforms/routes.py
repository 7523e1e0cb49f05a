"""The web channel's routes in the ASGI app: the forms and the follow-up page."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import Route

from channels.webforms.follow_up import FollowUpEdge
from channels.webforms.intake import Intake
from channels.webforms.submit import FormEdge
from config.form_settings import FormSettings
from config.forms import FormSpec, forms_or_default
from config.rules import load_rules
from config.settings import Settings


def configured_forms(settings: Settings) -> dict[str, FormSpec]:
    """The rules file's ``forms:``, or the default ``contact`` form.

    A rules file that does not load raises ``RulesFileError``: the web process does
    not start with forms other than the ones declared."""
    declared = load_rules(settings.rules_file).forms if settings.rules_file is not None else {}
    return forms_or_default(dict(declared))


def form_routes(
    sessions: sessionmaker[Session],
    settings: Settings,
    on_work: Callable[[], None] | None = None,
    limits: FormSettings | None = None,
    forms: dict[str, FormSpec] | None = None,
) -> list[Route]:
    limits = limits or FormSettings()
    intake = Intake(sessions, settings)
    edge = FormEdge(settings, limits, forms or configured_forms(settings), intake, on_work)
    follow_up = FollowUpEdge(sessions, settings, limits, intake, on_work)
    return [
        Route("/forms/{form}", edge.show, methods=["GET"]),
        Route("/forms/{form}", edge.submit, methods=["POST"]),
        Route("/t/{token}", follow_up.show, methods=["GET"]),
        Route("/t/{token}", follow_up.reply, methods=["POST"]),
    ]
