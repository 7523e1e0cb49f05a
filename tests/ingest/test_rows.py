"""Rows written with Core and kept in the session as loaded objects, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from ingest.accept import record_inputs, written_record
from ingest.models import Attachment, Customer, InboundRecord, Message, Ticket
from ingest.raw_inputs import RawInput
from ingest.rows import insert_loaded, read_loaded, read_locked, update_loaded

RECORD_COLUMNS = [column.key for column in InboundRecord.__table__.columns]


@contextmanager
def statements(engine: Engine, whole: list[str] | None = None) -> Iterator[list[str]]:
    """The verb of each statement sent meanwhile; ``whole`` collects their full text."""
    sent: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        verb = statement.split(maxsplit=1)[0].upper()
        if verb != "BEGIN":  # SQLite's own BEGIN IMMEDIATE, sent with the first statement
            sent.append(verb)
            if whole is not None:
                whole.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def a_customer(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        customer = Customer(name="Ada", email="ada@example.org")
        session.add(customer)
        session.flush()
        return customer.id


def test_an_inserted_row_is_loaded_with_its_defaults_and_reads_need_no_query(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    customer_id = a_customer(sessions)
    with sessions.begin() as session, statements(engine) as sent:
        # When a ticket is inserted with some of its columns
        ticket = insert_loaded(
            session, Ticket, {"channel": "web", "customer_id": customer_id, "subject": "Help"}
        )
        # Then one INSERT was sent, and every column reads without another statement
        assert sent == ["INSERT"]
        assert (ticket.status, ticket.tags, ticket.category, ticket.closed_at) == (
            "new",
            [],
            None,
            None,
        )
        assert ticket.created_at is not None and ticket.updated_at is not None
        assert sent == ["INSERT"]
        assert session.get(Ticket, ticket.id) is ticket
        assert sent == ["INSERT"]
        number = ticket.id
    # And the row in the store holds what the object says
    with sessions() as session:
        stored = session.get(Ticket, number)
        assert stored is not None
        assert (stored.status, stored.subject, stored.tags) == ("new", "Help", [])
        assert stored.created_at == ticket.created_at


def test_a_change_to_an_inserted_row_is_written_at_the_next_flush(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    customer_id = a_customer(sessions)
    with sessions.begin() as session:
        ticket = insert_loaded(session, Ticket, {"channel": "web", "customer_id": customer_id})
        with statements(engine) as sent:
            ticket.priority = "high"
            ticket.tags = ["vip"]
            session.flush()
        assert sent == ["UPDATE"]
        number = ticket.id
    with sessions() as session:
        stored = session.get(Ticket, number)
        assert stored is not None
        assert (stored.priority, stored.tags) == ("high", ["vip"])


def test_a_message_and_its_attachments_are_linked_without_a_flush(
    sessions: sessionmaker[Session],
) -> None:
    customer_id = a_customer(sessions)
    with sessions.begin() as session:
        ticket = insert_loaded(session, Ticket, {"channel": "email", "customer_id": customer_id})
        message = insert_loaded(
            session,
            Message,
            {"ticket_id": ticket.id, "direction": "inbound", "channel": "email", "sender": "a@b.c"},
        )
        attachment = insert_loaded(
            session,
            Attachment,
            {
                "message_id": message.id,
                "filename": "a.pdf",
                "content_type": "application/pdf",
                "size": 3,
                "sha256": "0" * 64,
            },
        )
        # The relationship to a row in the session resolves from the session
        assert message.ticket is ticket
        assert attachment.inline is False
        ids = (ticket.id, message.id)
    with sessions() as session:
        [(ticket_id, message_id)] = session.execute(
            select(Message.ticket_id, Message.id).where(Message.id == ids[1])
        ).all()
        assert (ticket_id, message_id) == ids
        assert session.scalars(select(Attachment.message_id)).all() == [ids[1]]


def test_the_record_an_edge_just_wrote_equals_the_one_read_back(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    item = RawInput("web", "web:abc", b'{"form": "contact"}', {"form": "contact", "tags": ["a"]})
    with sessions.begin() as session:
        accepted = record_inputs(session.connection(), [item])[0]
        with statements(engine) as sent:
            written = written_record(session, item, accepted)
        assert sent == []
        assert written is not None
        mine = {c: getattr(written, c) for c in RECORD_COLUMNS}
    with sessions() as session:
        stored = session.get(InboundRecord, accepted.inbound_id)
        assert stored is not None
        assert {c: getattr(stored, c) for c in RECORD_COLUMNS} == mine
    # And a duplicate is not made up: the caller reads it
    with sessions.begin() as session:
        again = record_inputs(session.connection(), [item])[0]
        assert again.duplicate
        assert written_record(session, item, again) is None


def test_a_row_updated_with_core_is_written_at_once_and_left_clean(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    item = RawInput("web", "web:upd", b"{}", {})
    with sessions.begin() as session:
        accepted = record_inputs(session.connection(), [item])[0]
        record = session.get(InboundRecord, accepted.inbound_id)
        assert record is not None
        with statements(engine) as sent:
            # When columns of a stored row are updated
            update_loaded(record, {"status": "processed", "status_reason": "done"})
            # Then one UPDATE is sent at once, the object says so, and a flush has nothing to do
            assert sent == ["UPDATE"]
            assert (record.status, record.status_reason) == ("processed", "done")
            assert record not in session.dirty
            session.flush()
            assert sent == ["UPDATE"]
            # And a later change to another column is an ordinary UPDATE of that column
            record.envelope = {"seen": True}
            session.flush()
            assert sent == ["UPDATE", "UPDATE"]
    with sessions() as session:
        stored = session.get(InboundRecord, accepted.inbound_id)
        assert stored is not None
        assert (stored.status, stored.status_reason, stored.envelope) == (
            "processed",
            "done",
            {"seen": True},
        )


def test_a_row_not_yet_written_is_updated_the_ordinary_way(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        customer = Customer(name="Ada", email="ada@example.org")
        session.add(customer)
        with statements(engine) as sent:
            update_loaded(customer, {"name": "Ada L."})
            assert sent == []
            session.flush()
            assert sent == ["INSERT"]
        number = customer.id
    with sessions() as session:
        stored = session.get(Customer, number)
        assert stored is not None and stored.name == "Ada L."


def test_savepoints_release_and_roll_back_as_plain_statements(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    sql: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "SAVEPOINT" in statement:
            sql.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with sessions.begin() as session:
            kept = Customer(name="kept")
            session.add(kept)
            with session.begin_nested():
                session.add(Customer(name="inner kept"))
                try:
                    with session.begin_nested():
                        session.add(Customer(name="dropped"))
                        session.flush()
                        raise LookupError("undo this step only")
                except LookupError:
                    pass
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    # The savepoints were sent as text, one per step, nested
    assert [s.split(" sa_savepoint_")[0] for s in sql] == [
        "SAVEPOINT",
        "SAVEPOINT",
        "ROLLBACK TO SAVEPOINT",
        "RELEASE SAVEPOINT",
    ]
    with sessions() as session:
        names = set(session.scalars(select(Customer.name)))
    assert {"kept", "inner kept"} <= names
    assert "dropped" not in names


def test_a_row_written_after_a_savepoint_rolled_back_takes_the_place_of_the_one_undone(
    sessions: sessionmaker[Session],
) -> None:
    customer_id = a_customer(sessions)
    values = {"channel": "web", "customer_id": customer_id}
    with sessions.begin() as session:
        # Given a ticket written in a savepoint that is then rolled back
        try:
            with session.begin_nested():
                undone = insert_loaded(session, Ticket, {**values, "subject": "Undone"})
                undone_id = undone.id
                raise RuntimeError("a bug after the ticket")
        except RuntimeError:
            pass
        # When the next ticket is written (SQLite gives it the same id again)
        kept = insert_loaded(session, Ticket, {**values, "subject": "Kept"})
        # Then the session holds the new row under its id (PostgreSQL's sequence gives
        # a new id; SQLite's the same, and the undone row's object leaves the session)
        assert session.get(Ticket, kept.id) is kept
        if kept.id == undone_id:
            assert undone not in session
    with sessions() as session:
        subjects = session.execute(select(Ticket.subject)).scalars().all()
    assert subjects == ["Kept"]


def test_a_change_undone_by_a_savepoint_is_not_kept_on_the_object(
    sessions: sessionmaker[Session],
) -> None:
    # Given a solved ticket
    customer_id = a_customer(sessions)
    with sessions.begin() as session:
        ticket_id = insert_loaded(
            session, Ticket, {"channel": "web", "customer_id": customer_id, "status": "solved"}
        ).id
    with sessions.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        # When a savepoint changes it with a Core UPDATE, then meets a bug and rolls back
        try:
            with session.begin_nested():
                update_loaded(ticket, {"status": "open"})
                raise RuntimeError("a bug after the change")
        except RuntimeError:
            pass
        # Then the object reads as the row is stored: solved
        assert ticket.status == "solved"


def test_a_row_read_with_core_is_the_object_the_session_holds_or_a_loaded_one(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    customer_id = a_customer(sessions)
    columns = list(Customer.__table__.columns)
    with sessions.begin() as session:
        (row,) = session.connection().execute(select(*columns).where(columns[0] == customer_id))
        values = {column.key: value for column, value in zip(columns, row, strict=True)}
        # When a row read by Core joins a session that does not hold it
        with statements(engine) as sent:
            first = read_loaded(session, Customer, values)
            assert (first.name, first.email) == ("Ada", "ada@example.org")
        # Then it is loaded: reading it sent nothing, and it has nothing to flush
        assert sent == [] and first in session and not session.dirty
        # And when the session holds the row, changed, that object is the one given
        first.name = "Ada L."
        again = read_loaded(session, Customer, values)
        assert again is first and again.name == "Ada L."
    with sessions() as session:
        assert session.get(Customer, customer_id).name == "Ada L."  # type: ignore[union-attr]


def test_a_row_read_and_locked_with_core_is_the_one_the_orm_would_load(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    item = RawInput("email", "email:read-locked", b"Subject: hi\r\n\r\nbody", {"peer": "::1"})
    with sessions.begin() as session:
        inbound_id = record_inputs(session.connection(), [item])[0].inbound_id
    with sessions() as session:
        by_orm = session.get(InboundRecord, inbound_id)
        assert by_orm is not None
        expected = {c: getattr(by_orm, c) for c in RECORD_COLUMNS}
    with sessions.begin() as session:
        # When a row the session does not hold is read and locked
        texts: list[str] = []
        with statements(engine, texts) as sent:
            record = read_locked(session, InboundRecord, inbound_id)
            assert record is not None
            read = {c: getattr(record, c) for c in RECORD_COLUMNS}
        # Then one query read every column, locked on PostgreSQL as ``session.get`` locks
        assert sent == ["SELECT"] and read == expected
        if engine.dialect.name == "postgresql":
            assert texts[0].rstrip().endswith("FOR NO KEY UPDATE")
        assert record in session and not session.dirty
        # And when the session holds the row with columns expired, the same object comes
        # back with them read again, and a row that does not exist is None
        session.expire(record, ["status", "raw"])
        again = read_locked(session, InboundRecord, inbound_id)
        assert again is record
        with statements(engine) as sent:
            assert (again.status, again.raw) == ("pending", item.raw)
        assert sent == []
        assert read_locked(session, InboundRecord, inbound_id + 1000) is None
