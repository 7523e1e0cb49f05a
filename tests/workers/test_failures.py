"""Bugs are recorded with stage and traceback, listed, and replayed once fixed; exactly once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.rules import load_rules_text
from config.settings import Settings
from ingest.accept import accept_raw
from ingest.failures import NotReplayable, replay_inbound, retry_failed
from ingest.models import (
    AutomatedSend,
    Delivery,
    FailedWork,
    InboundRecord,
    Message,
    OutboxEntry,
    Ticket,
)
from normalize import parsers
from tests.harness import Pipeline
from tests.mail import customer_mail
from tests.workers.test_pipeline import SECRET, rules_for, send
from tests.workers.test_send_reply import open_ticket, reply, stored_message
from tests.workers.webhook_receiver import WebhookReceiver
from workers.cli import main


class ParserBug(Exception):
    """Stands in for a crash in our own parsing code."""


@pytest.fixture
def pipeline(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[Pipeline]:
    pipe = Pipeline(settings, sessions)
    yield pipe
    pipe.close()


@pytest.fixture
def env(settings: Settings, database_url: str) -> dict[str, str]:
    return {"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(settings.data_dir)}


@pytest.fixture
def broken_parser(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    def crash(*args: object, **kwargs: object) -> None:
        raise ParserBug("index out of range in the MIME walker")

    with monkeypatch.context() as patch:
        patch.setitem(parsers._PARSERS, "email", crash)
        yield patch


def record(sessions: sessionmaker[Session], inbound_id: int) -> InboundRecord:
    with sessions() as session:
        found = session.get(InboundRecord, inbound_id)
        assert found is not None
        return found


def failures(sessions: sessionmaker[Session]) -> list[FailedWork]:
    with sessions() as session:
        return list(session.execute(select(FailedWork).order_by(FailedWork.id)).scalars())


def tickets(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.execute(select(func.count()).select_from(Ticket)).scalar_one())


def ack_message_state(sessions: sessionmaker[Session]) -> tuple[str | None, str | None]:
    with sessions() as session:
        message = session.execute(
            select(Message).where(Message.kind == "acknowledgement")
        ).scalar_one()
        return message.delivery_state, message.delivery_error


def cli(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def cli_error(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code != 0, result.output
    return result.output


@pytest.mark.failed_work
def test_parser_crash_is_a_bug_recorded_with_stage_and_traceback_not_quarantine(
    pipeline: Pipeline, sessions: sessionmaker[Session], broken_parser: pytest.MonkeyPatch
) -> None:
    # Given a mail our parser crashes on
    inbound_id = send(sessions, bytes(customer_mail(subject="Crashes the parser")))
    # When the workers run
    pipeline.drain()
    # Then the record is failed (not quarantined as the sender's fault), with the reason
    failed = record(sessions, inbound_id)
    assert failed.status == "failed"
    assert failed.status_reason == "ingest: ParserBug: index out of range in the MIME walker"
    # And the bug is kept with its stage, payload and traceback
    [bug] = failures(sessions)
    assert (bug.stage, bug.payload) == ("ingest", {"inbound_id": inbound_id})
    assert "Traceback" in bug.traceback and "ParserBug" in bug.traceback
    # And its outbox work is done: nothing spins on it
    with sessions() as session:
        assert session.execute(select(OutboxEntry.done_at)).scalar_one() is not None


def test_unparseable_input_stays_quarantined_as_the_senders_fault(
    pipeline: Pipeline, sessions: sessionmaker[Session], env: dict[str, str]
) -> None:
    # Given input from a channel we have no parser for
    accepted = accept_raw(
        sessions, channel="fax", dedupe_key="fax:1", raw=b"\x00\x01 scanned page", envelope={}
    )
    # When the workers run
    pipeline.drain()
    # Then it is quarantined with its reason, and no bug is recorded
    quarantined = record(sessions, accepted.inbound_id)
    assert quarantined.status == "quarantined"
    assert quarantined.status_reason == "no parser for channel 'fax'"
    assert failures(sessions) == []
    # And `inbound list` shows it with its reason
    [row] = json.loads(cli(env, "inbound", "list", "--status", "quarantined", "--json"))
    assert (row["id"], row["status"], row["reason"]) == (
        accepted.inbound_id,
        "quarantined",
        "no parser for channel 'fax'",
    )


@pytest.mark.failed_work
def test_replay_after_the_fix_makes_the_ticket_exactly_once(
    pipeline: Pipeline,
    sessions: sessionmaker[Session],
    env: dict[str, str],
    broken_parser: pytest.MonkeyPatch,
) -> None:
    # Given two mails that failed with a parser bug, listed as failed
    ids = [
        send(sessions, bytes(customer_mail(subject=f"Failed {n}", sender=f"c{n}@example.org")))
        for n in range(2)
    ]
    pipeline.drain()
    listed = json.loads(cli(env, "inbound", "list", "--status", "failed", "--json"))
    assert sorted(row["id"] for row in listed) == ids
    assert listed[0]["subject"] == "Failed 1"
    # When the parser is fixed and one is replayed by id, the rest by status
    broken_parser.undo()
    assert cli(env, "inbound", "replay", str(ids[0])) == f"inbound {ids[0]} queued for ingest\n"
    assert cli(env, "inbound", "replay", "--status", "failed") == (
        "1 inbound record(s) queued for ingest\n"
    )
    pipeline.drain()
    # Then each became exactly one ticket, and their bugs count as retried
    assert [record(sessions, i).status for i in ids] == ["processed", "processed"]
    assert tickets(sessions) == 2
    assert all(bug.replayed_at is not None for bug in failures(sessions))
    assert cli(env, "failed", "list") == "no failed work\n"
    # And replaying again is refused and creates nothing
    assert f"inbound {ids[0]} is processed" in cli_error(env, "inbound", "replay", str(ids[0]))
    with sessions.begin() as session, pytest.raises(NotReplayable):
        replay_inbound(session, ids[1])
    pipeline.drain()
    assert tickets(sessions) == 2


@pytest.mark.failed_work
def test_bug_in_acknowledgement_marks_the_send_failed_then_retry_sends_it(
    pipeline: Pipeline,
    sessions: sessionmaker[Session],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an outbound transport with a bug
    sent = pipeline.transport.sent

    def crash(message: EmailMessage, sender: str, recipients: list[str]) -> None:
        raise KeyError("header")

    monkeypatch.setattr(pipeline.transport, "send", crash)
    # When a new ticket is acknowledged
    send(sessions, bytes(customer_mail(subject="Ack crashes")))
    pipeline.drain()
    # Then the send is failed with the bug as its reason, never left "sending"
    with sessions() as session:
        ack = session.execute(select(AutomatedSend)).scalar_one()
    assert (ack.status, ack.reason) == ("failed", "acknowledge: KeyError: 'header'")
    assert ack_message_state(sessions) == ("failed", "acknowledge: KeyError: 'header'")
    # And `failed list` shows the bug
    [row] = json.loads(cli(env, "failed", "list", "--json"))
    assert (row["stage"], row["error"], row["retryable"]) == (
        "acknowledge",
        "KeyError: 'header'",
        True,
    )
    assert "KeyError" in row["traceback"]
    # When the transport is fixed and every failure is retried
    monkeypatch.undo()
    assert cli(env, "failed", "retry", "--all") == "1 failed work item(s) queued again\n"
    pipeline.drain()
    # Then the acknowledgement is sent once, and the failure counts as retried
    with sessions() as session:
        ack = session.execute(select(AutomatedSend)).scalar_one()
    assert (ack.status, ack.reason) == ("sent", None)
    assert ack_message_state(sessions) == ("sent", None)
    assert len(sent) == 1
    assert "retried" in cli(env, "failed", "list", "--all")
    assert "was retried" in cli_error(env, "failed", "retry", str(row["id"]))


@pytest.mark.failed_work
def test_failed_work_without_stored_input_is_not_retried(
    sessions: sessionmaker[Session], env: dict[str, str]
) -> None:
    # Given a message the IMAP reader had to skip
    with sessions.begin() as session:
        session.add(
            FailedWork(
                stage="imap",
                payload={"mailbox": "support", "uidvalidity": 7, "uid": 42},
                error="fetch failed",
                traceback="",
            )
        )
        session.flush()
        [failure_id] = session.execute(select(FailedWork.id)).scalars()
    # When it is retried
    # Then the command refuses with the reason, and nothing is queued
    assert "kept no input to run again" in cli_error(env, "failed", "retry", str(failure_id))
    with sessions.begin() as session, pytest.raises(NotReplayable, match="imap"):
        retry_failed(session, failure_id)
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(OutboxEntry)).scalar_one() == 0


@pytest.mark.failed_work
def test_bug_in_a_desk_client_is_retried_with_a_fresh_budget_once_fixed(
    settings: Settings,
    sessions: sessionmaker[Session],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMNIROUTE_TEST_WEBHOOK_SECRET", SECRET)
    with WebhookReceiver(secret=SECRET.encode()) as receiver:
        pipe = Pipeline(settings, sessions, load_rules_text(rules_for(receiver.url_for("/hook"))))
        try:
            # Given a desk client with a bug
            with monkeypatch.context() as patch:
                patch.setattr(
                    "workers.delivery.deliver.registry.send",
                    lambda *args: (_ for _ in ()).throw(AttributeError("no field 'team'")),
                )
                send(sessions, bytes(customer_mail(subject="Hand me off")))
                pipe.drain()
            # Then the hand-off is dead and the bug recorded at stage deliver
            with sessions() as session:
                delivery = session.execute(select(Delivery)).scalar_one()
            assert delivery.status == "dead"
            [row] = json.loads(cli(env, "failed", "list", "--json"))
            assert (row["stage"], row["payload"]) == ("deliver", {"delivery_id": delivery.id})
            # When the client is fixed and the failure retried
            assert cli(env, "failed", "retry", str(row["id"])) == (
                f"failed work {row['id']} queued again\n"
            )
            pipe.drain()
        finally:
            pipe.close()
        # Then the hand-off is delivered, once
        with sessions() as session:
            delivery = session.execute(select(Delivery)).scalar_one()
        assert delivery.status == "delivered"
        assert len(receiver.requests) == 1


@pytest.mark.failed_work
def test_bug_while_sending_a_reply_fails_it_with_the_reason_and_retry_sends_it_once(
    pipeline: Pipeline,
    sessions: sessionmaker[Session],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a ticket, and then an outbound transport with a bug
    number = open_ticket(pipeline, sessions)
    acknowledgements = len(pipeline.transport.sent)

    def crash(message: EmailMessage, sender: str, recipients: list[str]) -> None:
        raise TypeError("cannot encode the body")

    monkeypatch.setattr(pipeline.transport, "send", crash)
    # When an agent's reply is sent
    reply_id = reply(sessions, number)
    pipeline.drain()
    # Then the reply is failed with the bug as its reason, never left in flight
    failed = stored_message(sessions, reply_id)
    assert (failed.delivery_state, failed.delivery_error) == (
        "failed",
        "send_reply: TypeError: cannot encode the body",
    )
    # When the transport is fixed and the failure retried
    monkeypatch.undo()
    [row] = json.loads(cli(env, "failed", "list", "--json"))
    assert row["stage"] == "send_reply"
    cli(env, "failed", "retry", str(row["id"]))
    pipeline.drain()
    # Then the reply is sent, once, with the Message-ID it was given first
    sent = stored_message(sessions, reply_id)
    assert (sent.delivery_state, sent.delivery_error) == ("sent", None)
    [(mail, _)] = pipeline.transport.sent[acknowledgements:]
    assert mail["Message-ID"] == failed.message_id_header
