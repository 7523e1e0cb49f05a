"""Forms declared under ``forms:`` in the rules file: their fields, tags, custom fields,
acknowledgement switch and thank-you URL; ``rules check`` reports their mistakes by line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.rules import load_rules, rules_file_problems
from config.settings import Settings
from ingest.models import AutomatedSend, Message, Ticket
from tests.channels.webforms.support import JSON, FormSite, form_site
from tests.conftest import FIXTURES
from tests.harness import Pipeline
from workers.cli import main

FORMS = FIXTURES / "webform" / "forms.yaml"


@pytest.fixture
def declared(sessions: sessionmaker[Session], settings: Settings) -> Iterator[FormSite]:
    with form_site(sessions, settings.model_copy(update={"rules_file": FORMS})) as site:
        yield site


def test_declared_forms_replace_the_default_one(declared: FormSite) -> None:
    assert declared.http.get("/forms/embed").status_code == 200
    assert declared.http.get("/forms/quiet").status_code == 200
    assert declared.http.get("/forms/contact").status_code == 404
    page = declared.http.get("/forms/embed").text
    assert "<option>Invoice question</option>" in page and 'type="checkbox"' in page


def test_a_declared_form_maps_its_fields_to_subject_body_tags_and_custom_fields(
    declared: FormSite, sessions: sessionmaker[Session]
) -> None:
    # When the billing form is posted with a topic, an order number and the urgent box
    values = {
        "email": "jane@example.org",
        "topic": "Invoice question",
        "order": "A-1001",
        "urgent": "on",
        "details": "The invoice shows the wrong amount.",
    }
    answer = declared.post(values, form="embed", headers=JSON)
    assert answer.status_code == 201
    # Then the topic is the subject and a tag, the details the body, the other fields below
    with sessions() as session:
        ticket = session.get(Ticket, answer.json()["ticket"]["number"])
        assert ticket is not None
        assert ticket.subject == "Invoice question"
        assert ticket.tags == ["invoice-question", "urgent"]
        message = session.execute(select(Message)).scalar_one()
        assert message.body_text == (
            "The invoice shows the wrong amount.\n\nOrder number: A-1001\nThis is urgent: yes"
        )


def test_a_rule_routes_on_a_forms_tags(
    declared: FormSite, sessions: sessionmaker[Session], settings: Settings
) -> None:
    # Given a rule sending tickets tagged "urgent" to the escalations team
    values = {"email": "jane@example.org", "topic": "Refund", "details": "Now please"}
    calm = declared.post(values, form="embed", headers=JSON).json()["ticket"]["number"]
    urgent = declared.post({**values, "urgent": "on"}, form="embed", headers=JSON)
    # When triage runs
    pipe = Pipeline(settings, sessions, load_rules(FORMS))
    try:
        pipe.drain()
    finally:
        pipe.close()
    # Then only the urgent form's ticket went there
    with sessions() as session:
        teams = {t.id: t.team for t in session.execute(select(Ticket)).scalars()}
    assert teams == {calm: "support", urgent.json()["ticket"]["number"]: "escalations"}


def test_a_select_outside_its_options_is_refused(declared: FormSite) -> None:
    values = {"email": "jane@example.org", "topic": "Free money", "details": "x"}
    answer = declared.post(values, form="embed", headers=JSON)
    assert answer.status_code == 422
    assert set(answer.json()["errors"]) == {"topic"}


def test_a_quiet_form_thanks_on_its_own_page_and_sends_no_acknowledgement(
    declared: FormSite, sessions: sessionmaker[Session], settings: Settings
) -> None:
    # When the feedback form is posted by a browser
    values = {"email": "jane@example.org", "message": "Love the new app"}
    answer = declared.post(values, form="quiet", follow_redirects=False)
    # Then it is sent to the company's thank-you page with the ticket number
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("https://www.example.org/thanks?ticket=")
    # And when the workers run, no acknowledgement is mailed, and the reason is kept
    pipe = Pipeline(settings, sessions)
    try:
        pipe.drain()
    finally:
        pipe.close()
    assert pipe.transport.sent == []
    with sessions() as session:
        send = session.execute(select(AutomatedSend)).scalar_one()
        assert (send.status, send.reason) == ("suppressed", "form quiet sends no acknowledgement")


def test_the_rules_file_with_forms_loads() -> None:
    forms = load_rules(FORMS).forms
    assert set(forms) == {"embed", "quiet"}
    assert forms["embed"].allowed_origins == ("https://www.example.org",)


def test_rules_check_reports_a_forms_mistake_with_its_line(tmp_path: Path) -> None:
    # Given a form whose subject names a field it does not have, on line 11
    broken = tmp_path / "rules.yaml"
    broken.write_text(
        FORMS.read_text().replace("subject: topic", "subject: topik"), encoding="utf-8"
    )
    # Then the loader and the command both name the form and the line
    (problem,) = rules_file_problems(broken)
    assert problem.line == FORMS.read_text().splitlines().index("  embed:") + 1
    assert "forms.embed" in str(problem) and "topik" in str(problem)
    result = CliRunner().invoke(main, ["rules", "check", str(broken)])
    assert result.exit_code != 0
    assert "topik" in result.output


def test_the_cli_lists_and_releases_refused_posts(
    sessions: sessionmaker[Session], settings: Settings, database_url: str
) -> None:
    # Given a post refused by the honeypot
    with form_site(sessions, settings) as site:
        site.post(
            {"email": "jane@example.org", "subject": "Hi", "message": "Hello", "website": "x"}
        )
    env = {"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(settings.data_dir)}
    # When it is listed
    listed = CliRunner().invoke(main, ["forms", "refused"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "honeypot" in listed.output and "jane@example.org" in listed.output
    # And released
    released = CliRunner().invoke(main, ["forms", "release", "1"], env=env)
    assert released.exit_code == 0, released.output
    again = CliRunner().invoke(main, ["forms", "release", "1"], env=env)
    # Then it is accepted once, and a second release is refused
    assert "as inbound" in released.output
    assert again.exit_code != 0 and "released already" in again.output
