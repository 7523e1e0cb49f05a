"""``omniroute deliveries list|retry`` and ``omniroute tickets set-status``, in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.models import Message, OutboxEntry, Ticket
from tests.mail import customer_mail
from tests.workers.desk_support import Desks, rules_with
from tests.workers.zendesk_fake import ZendeskFake
from workers.cli import main
from workers.delivery.planning import MESSAGE_APPENDED, TICKET_CREATED


@pytest.fixture
def env(settings: Settings, database_url: str) -> dict[str, str]:
    return {"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(settings.data_dir)}


@pytest.fixture
def zendesk(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZendeskFake]:
    monkeypatch.setenv("OMNIROUTE_TEST_ZD_TOKEN", "zd-token")
    with ZendeskFake(email="agent@acme.test", token="zd-token") as fake:
        yield fake


@pytest.fixture
def desks(
    settings: Settings, sessions: sessionmaker[Session], zendesk: ZendeskFake
) -> Iterator[Desks]:
    rules = rules_with(f"""
  zendesk:
    type: zendesk
    url: {zendesk.url}
    email: agent@acme.test
    token_env: OMNIROUTE_TEST_ZD_TOKEN
    max_attempts: 2
    backoff_base_seconds: 0.01
""")
    with Desks(settings, sessions, rules) as harness:
        yield harness


@pytest.fixture
def dead(desks: Desks, zendesk: ZendeskFake) -> tuple[int, int]:
    """A ticket whose hand-off to Zendesk died after two 503s; (ticket, delivery)."""
    zendesk.fail_next(503, body={"error": "maintenance"}, times=2)
    ticket, message = desks.ticket(customer_mail(subject="Help"))
    delivery = desks.plan(ticket, message, "zendesk", TICKET_CREATED)
    assert desks.run_until_final(delivery).status == "dead"
    return ticket, delivery


def invoke(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_deliveries_list_json_shows_each_attempt(
    env: dict[str, str], dead: tuple[int, int]
) -> None:
    # Given a dead delivery
    ticket, delivery = dead
    # When the deliveries are listed as JSON
    [row] = json.loads(invoke(env, "deliveries", "list", "--json"))
    # Then it is there with its status, attempts and the log of both
    assert (row["id"], row["ticket"], row["destination"], row["event"]) == (
        delivery,
        ticket,
        "zendesk",
        "ticket.created",
    )
    assert (row["status"], row["attempts"]) == ("dead", 2)
    assert [(a["outcome"], a["status_code"]) for a in row["attempt_log"]] == [
        ("retry", 503),
        ("retry", 503),
    ]


def test_deliveries_list_filters_by_status(env: dict[str, str], dead: tuple[int, int]) -> None:
    # Given one dead delivery
    _, delivery = dead
    # When listing only delivered ones, and only dead ones
    delivered = invoke(env, "deliveries", "list", "--status", "delivered")
    dead_rows = invoke(env, "deliveries", "list", "--status", "dead")
    # Then the first is empty and the second shows it with its last error
    assert delivered.strip() == "no deliveries delivered"
    assert dead_rows.startswith(f"{delivery:<6} #1")
    assert "dead" in dead_rows and "HTTP 503 from Zendesk" in dead_rows


def test_deliveries_retry_requeues_a_dead_delivery_with_a_fresh_budget(
    env: dict[str, str],
    dead: tuple[int, int],
    desks: Desks,
    zendesk: ZendeskFake,
    sessions: sessionmaker[Session],
) -> None:
    # Given a dead delivery and a Zendesk that works again
    _, delivery = dead
    # When it is retried from the command line
    output = invoke(env, "deliveries", "retry", str(delivery))
    # Then it is pending with a fresh budget, its log kept, and work is queued
    assert output.strip() == f"delivery {delivery} re-queued"
    state = desks.state(delivery)
    assert (state.status, state.attempts, state.outcomes) == ("pending", 0, ["retry", "retry"])
    with sessions() as session:
        queued = (
            session.execute(
                select(OutboxEntry)
                .where(OutboxEntry.actor == "deliver")
                .order_by(OutboxEntry.id.desc())
            )
            .scalars()
            .first()
        )
        assert queued is not None and queued.payload == {"delivery_id": delivery}
    # And when the worker runs it, it is delivered
    desks.run(delivery)
    assert desks.state(delivery).status == "delivered"
    assert len(zendesk.tickets) == 1


def test_retrying_a_ticket_hand_off_requeues_the_follow_ups_that_waited_for_it(
    env: dict[str, str], dead: tuple[int, int], desks: Desks
) -> None:
    # Given a follow-up rejected because the ticket's hand-off was dead
    ticket, delivery = dead
    _, reply = desks.receive(customer_mail(subject="Re: [Ticket #1] Help", body="Hello?"))
    follow_up = desks.plan(ticket, reply, "zendesk", MESSAGE_APPENDED)
    desks.run(follow_up)
    assert desks.state(follow_up).status == "rejected"
    # When the ticket's hand-off is retried
    output = invoke(env, "deliveries", "retry", str(delivery))
    # Then the follow-up is re-queued with it
    assert (
        output.strip() == f"delivery {delivery} re-queued (and its waiting follow-ups {follow_up})"
    )
    assert desks.state(follow_up).status == "pending"


def test_deliveries_retry_refuses_a_delivery_that_is_not_dead_or_rejected(
    env: dict[str, str], desks: Desks
) -> None:
    # Given a delivered hand-off
    ticket, message = desks.ticket(customer_mail())
    delivery = desks.hand_off(ticket, message, "zendesk")
    # When it is retried
    result = CliRunner().invoke(main, ["deliveries", "retry", str(delivery)], env=env)
    # Then the command fails, saying why
    assert result.exit_code == 1
    assert f"delivery {delivery} is delivered; only dead or rejected ones are retried" in (
        result.output
    )


def test_tickets_set_status_records_the_change(
    env: dict[str, str], desks: Desks, sessions: sessionmaker[Session]
) -> None:
    # Given a new ticket
    ticket, _ = desks.ticket(customer_mail())
    # When an operator solves it from the command line
    output = invoke(env, "tickets", "set-status", str(ticket), "solved", "--reason", "refunded")
    # Then it is solved, with the change on its timeline and its hand-off planning queued
    assert output.strip() == f"ticket #{ticket}: new -> solved"
    with sessions() as session:
        row = session.get(Ticket, ticket)
        assert row is not None and row.status == "solved"
        event = session.execute(select(Message).where(Message.kind == "event")).scalar_one()
        assert event.body_text == "Status changed from new to solved: refunded"
        work = session.execute(select(OutboxEntry).where(OutboxEntry.actor == "status_change"))
        assert [w.payload for w in work.scalars()] == [
            {"ticket_id": ticket, "message_id": event.id}
        ]
