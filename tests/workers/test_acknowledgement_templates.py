"""Acknowledgements come from templates: per channel and language, overridable, stored as
sent, and switched off per channel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.models import AutomatedSend, Message
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.workers.test_pipeline import send
from workers.outbound.templates import AckValues, render_acknowledgement

GERMAN = (
    "Guten Tag,\nich kann mich seit heute Morgen nicht mehr anmelden, das Passwort "
    "wird nicht akzeptiert und die Seite lädt danach nicht weiter.\n\nViele Grüße\nJana\n"
)


def stored_ack(sessions: sessionmaker[Session]) -> Message:
    with sessions() as session:
        return session.execute(
            select(Message).where(Message.kind == "acknowledgement")
        ).scalar_one()


def test_the_acknowledgement_is_stored_with_the_text_that_was_sent(
    pipeline_with: Callable[..., Pipeline], sessions: sessionmaker[Session]
) -> None:
    # Given a customer's mail
    pipeline = pipeline_with()
    send(sessions, bytes(customer_mail(subject="Cannot log in")))
    # When the workers run
    pipeline.drain()
    # Then the stored acknowledgement has the body the customer received, and is sent
    ((mail, _),) = pipeline.transport.sent
    ack = stored_ack(sessions)
    assert ack.body_text.strip() == mail.get_content().strip()
    assert "opened ticket #1" in ack.body_text
    assert ack.delivery_state == "sent"


def test_a_german_mail_is_acknowledged_in_german(
    pipeline_with: Callable[..., Pipeline], sessions: sessionmaker[Session]
) -> None:
    # Given a German mail
    pipeline = pipeline_with()
    send(sessions, bytes(customer_mail(subject="Anmeldung klappt nicht", body=GERMAN)))
    # When the workers run
    pipeline.drain()
    # Then the acknowledgement is the German text
    ((mail, _),) = pipeline.transport.sent
    assert "das Ticket #1 eröffnet" in mail.get_content()


def test_the_operators_template_folder_overrides_the_shipped_text(
    pipeline_with: Callable[..., Pipeline], sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # Given an operator's own English email template
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "acknowledgement.email.en.txt").write_text(
        "Dear$greeting_name, ticket $number is ours now. -- $support_name\n", encoding="utf-8"
    )
    pipeline = pipeline_with(templates_dir=folder)
    # When a mail arrives
    send(sessions, bytes(customer_mail()))
    pipeline.drain()
    # Then the customer reads the operator's text
    ((mail, _),) = pipeline.transport.sent
    assert mail.get_content() == "Dear Jane Doe, ticket 1 is ours now. -- Support\n"


def test_acknowledgements_can_be_switched_off_for_a_channel(
    pipeline_with: Callable[..., Pipeline], sessions: sessionmaker[Session]
) -> None:
    # Given acknowledgements on for Slack only
    pipeline = pipeline_with(acknowledge_channels=("slack",))
    # When a mail arrives
    send(sessions, bytes(customer_mail()))
    pipeline.drain()
    # Then nothing is sent, and the reason is recorded
    assert pipeline.transport.sent == []
    with sessions() as session:
        send_row = session.execute(select(AutomatedSend)).scalar_one()
    assert (send_row.status, send_row.reason) == (
        "suppressed",
        "no acknowledgement on channel email",
    )


def test_templates_fall_back_to_english_and_to_the_default_channel() -> None:
    values = AckValues(number=7, subject="Hi", name="", support_name="Support")
    # An unknown language falls back to English
    assert render_acknowledgement("email", "fi", values).startswith("Hello,")
    # A channel without its own text uses the default one, in the language asked
    assert render_acknowledgement("carrier-pigeon", "de", values) == (
        "Ticket #7: wir haben Ihre Nachricht erhalten und melden uns bei Ihnen.\n"
    )
