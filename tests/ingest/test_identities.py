"""Customers across channels: identities linked with provenance, merged only on verified proof,
suggested otherwise, and corrected by an agent with ``omniroute customers``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from channels import reply_senders
from config.settings import Settings
from ingest.db import unit_of_work
from ingest.identity import link_claims, sender_for
from ingest.models import Customer, CustomerMerge, Identity, Message, Ticket
from normalize import parsers
from normalize.phones import to_e164
from normalize.types import Party, PartyKind
from tests.channels.pigeon.adapter import accept_note
from tests.channels.pigeon.parser import CHANNEL, parse_pigeon
from tests.channels.pigeon.sender import Loft, PigeonSender
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.workers.test_pipeline import send
from workers.cli import main


@pytest.fixture
def pipeline(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Pipeline]:
    loft = Loft()
    parsers.register(CHANNEL, parse_pigeon)
    reply_senders.register(CHANNEL, lambda resources: PigeonSender(loft))
    pipe = Pipeline(settings, sessions)
    yield pipe
    pipe.close()


@pytest.fixture
def env(settings: Settings, database_url: str) -> dict[str, str]:
    return {"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(settings.data_dir)}


def note(note_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": note_id, "from": "+15550100", "to": "+15550999", "text": "Hi", **extra}


def jane_by_mail(pipeline: Pipeline, sessions: sessionmaker[Session]) -> None:
    send(sessions, bytes(customer_mail(subject="Invoice question")))
    pipeline.drain()


def customer_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(session.execute(select(Customer).where(Customer.merged_into_id.is_(None))).all())


def events(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(
            session.execute(
                select(Message.body_text).where(Message.kind == "event").order_by(Message.id)
            ).scalars()
        )


def test_a_new_identity_the_channel_asserts_joins_the_sender(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given a note from a phone that says its sender is pat@example.org (unchecked)
    accept_note(sessions, note("n1", email="pat@example.org"))
    # When the workers run
    pipeline.drain()
    # Then one customer has both identities, with where they came from
    with sessions() as session:
        rows = session.execute(
            select(Identity.kind, Identity.value, Identity.provenance, Identity.verified).order_by(
                Identity.id
            )
        ).all()
    assert rows == [
        ("phone", "+15550100", "channel", True),
        ("email", "pat@example.org", "channel", False),
    ]
    assert customer_count(sessions) == 1


def test_an_unverified_claim_on_someone_elses_identity_is_only_suggested(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given jane, known by email
    jane_by_mail(pipeline, sessions)
    # When a phone note claims jane's address without proof
    accept_note(sessions, note("n1", email="jane@customer.test"))
    pipeline.drain()
    # Then nothing is merged, and the phone's ticket carries a suggestion
    assert customer_count(sessions) == 2
    (suggestion,) = [e for e in events(sessions) if e.startswith("may be the same customer")]
    assert "jane@customer.test" in suggestion and "not verified" in suggestion


def test_a_verified_claim_merges_the_two_customers_recorded(
    pipeline: Pipeline, sessions: sessionmaker[Session]
) -> None:
    # Given jane, known by email
    jane_by_mail(pipeline, sessions)
    # When a phone note proves jane's address
    accept_note(sessions, note("n1", email="jane@customer.test", email_verified=True))
    pipeline.drain()
    # Then one customer remains, with both tickets, and the merge is recorded
    assert customer_count(sessions) == 1
    with sessions() as session:
        owners = set(session.execute(select(Ticket.customer_id)).scalars())
        merge = session.execute(select(CustomerMerge)).scalar_one()
    assert len(owners) == 1
    assert merge.undone_at is None
    assert any("merged into" in e for e in events(sessions))


def test_agent_links_two_customers_and_unlinks_them_again(
    pipeline: Pipeline, sessions: sessionmaker[Session], env: dict[str, str]
) -> None:
    # Given jane by email and an unknown phone customer
    jane_by_mail(pipeline, sessions)
    accept_note(sessions, note("n1"))
    pipeline.drain()
    runner = CliRunner()
    # When an agent links the phone to jane
    linked = runner.invoke(
        main, ["customers", "link", "jane@customer.test", "phone:+1 555 0100"], env=env
    )
    assert linked.exit_code == 0, linked.output
    # Then jane shows both identities and both tickets
    shown = runner.invoke(main, ["customers", "show", "jane@customer.test", "--json"], env=env)
    view = json.loads(shown.output)
    assert {(i["kind"], i["value"]) for i in view["identities"]} == {
        ("email", "jane@customer.test"),
        ("phone", "+15550100"),
    }
    assert len(view["tickets"]) == 2
    assert view["merges"][0]["reason"] == "linked by an agent"
    # When the agent unlinks the phone
    unlinked = runner.invoke(main, ["customers", "unlink", "phone:+15550100"], env=env)
    assert unlinked.exit_code == 0, unlinked.output
    # Then the two are separate customers again, each with their own ticket
    assert customer_count(sessions) == 2
    again = json.loads(
        runner.invoke(main, ["customers", "show", "jane@customer.test", "--json"], env=env).output
    )
    assert [i["kind"] for i in again["identities"]] == ["email"]
    assert len(again["tickets"]) == 1
    assert again["merges"][0]["undone_at"] is not None


def test_customers_show_refuses_an_unknown_reference(env: dict[str, str], engine: object) -> None:
    result = CliRunner().invoke(main, ["customers", "show", "nobody@example.org"], env=env)
    assert result.exit_code == 1
    assert "no customer has the identity email:nobody@example.org" in result.output


def test_phone_numbers_are_read_as_e164_in_the_default_region() -> None:
    assert to_e164("(415) 555-2671", "US") == "+14155552671"
    assert to_e164("030 123456", "DE") == "+4930123456"
    assert to_e164("whatsapp:+4930123456", "US") == "+4930123456"
    assert to_e164("not a number", "US") is None


@pytest.mark.parametrize("read_with_sender", [True, False])
def test_claims_link_the_same_whether_read_with_the_sender_or_after(
    sessions: sessionmaker[Session], read_with_sender: bool
) -> None:
    slack = Party(PartyKind.SLACK, "T1:U1", "Jane")
    mine = Party(PartyKind.EMAIL, "Jane@Example.com")
    theirs = Party(PartyKind.EMAIL, "bob@example.com")
    # Given Bob, a customer with his own email identity
    with unit_of_work(sessions) as session:
        bob = sender_for(session, theirs).customer.id
    # When a Slack user claims a new address of their own and Bob's, unverified
    with unit_of_work(sessions) as session:
        claims = (mine, theirs)
        sender = sender_for(session, slack, claims=claims if read_with_sender else ())
        ticket = Ticket(status="new", channel="slack", customer_id=sender.customer.id, subject="")
        session.add(ticket)
        session.flush()
        link_claims(session, sender, claims, ticket)
        jane = sender.customer.id
    # Then the new address joins the Slack user, Bob's stays his, and the ticket says so
    with sessions() as session:
        owners = dict(session.execute(select(Identity.value, Identity.customer_id)).all())
        notes = session.execute(select(Message.body_text).where(Message.kind == "event")).all()
    assert owners == {"jane@example.com": jane, "bob@example.com": bob, "T1:U1": jane}
    assert [n for (n,) in notes] == [
        f"may be the same customer as #{bob} (email bob@example.com, "
        "claimed by slack T1:U1, not verified)"
    ]


def test_two_transactions_meeting_a_new_customer_at_once_agree_on_one(
    sessions: sessionmaker[Session], database_url: str
) -> None:
    """The second insert of the same identity waits on the unique index, inserts nothing,
    drops the customer it had made and takes the first one's."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one write transaction at a time; the race needs two")
    party = Party(PartyKind.EMAIL, "race@example.com", "Race")
    first = sessions()
    first.begin()
    winner = sender_for(first, party)
    outcome: dict[str, Any] = {}

    def second() -> None:
        with unit_of_work(sessions) as session:
            met = sender_for(session, party)
            outcome["customer"], outcome["identity"] = met.customer.id, met.identity.id

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=0.5)
    assert thread.is_alive()  # waiting on the first transaction's identity row
    first.commit()
    thread.join(timeout=10)
    assert outcome == {"customer": winner.customer.id, "identity": winner.identity.id}
    first.close()
    with sessions() as session:
        rows = session.execute(select(Identity).where(Identity.value == "race@example.com")).all()
        assert len(rows) == 1
        customers = session.execute(select(Customer).where(Customer.name == "Race")).all()
        assert len(customers) == 1
