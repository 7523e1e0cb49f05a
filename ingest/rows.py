"""Rows written with one Core ``INSERT ... RETURNING`` and kept in the session as loaded objects.

On the ingest path the ORM's unit of work costs more than the ``INSERT`` it sends:
tracking, sorting and syncing a ticket and its first message took about three times
as long as the two statements. Here each row is inserted as it is built, and the
object joins the session as if it had just been read: every column holds its value
(defaults applied here, as the table would), so reading one needs no query and
changing one is an ordinary ``UPDATE`` at the next flush.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Insert, Select, Table, Update, bindparam, insert, inspect, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from ingest.db import TAKE_TURNS
from ingest.direct_sql import rows_of
from ingest.models import Base

RowT = TypeVar("RowT", bound=Base)

_INSERTS: dict[type[Base], Insert] = {}
_LOCKED_READS: dict[type[Base], tuple[Select[Any], tuple[str, ...]]] = {}
_UPDATES: dict[type[Base], Update] = {}
_COLUMN_KEYS: dict[type[Base], frozenset[str]] = {}
_ATTRIBUTE_KEYS: dict[type[Base], frozenset[str]] = {}


def insert_loaded(session: Session, cls: type[RowT], values: dict[str, Any]) -> RowT:
    """Insert one ``cls`` row with ``values`` (plus column defaults) and return it, loaded.

    Relationships given in ``values`` as loaded objects (a message's attachments) are
    kept as loaded too; any other relationship loads when first read."""
    columns = row_values(cls, values)
    # The Core statement on the session's connection: ``Session.execute`` would only add
    # its ORM dispatch (and an autoflush this row does not depend on).
    ((row_id,),) = rows_of(session.connection(), _insert_of(cls), columns)
    return attach_loaded(session, cls, {**columns, **values, "id": row_id})


def row_values(cls: type[Base], values: dict[str, Any]) -> dict[str, Any]:
    """The columns of ``values``, and every other column's default, as an INSERT of
    ``values`` writes them (for a row inserted by a statement of the caller's own)."""
    defaults = _defaults_of(cls)
    row = dict(defaults.fixed)
    for key, make in defaults.made:
        row[key] = make(None)  # SQLAlchemy wraps a callable default to take the context
    columns = _column_keys(cls)
    row.update((k, v) for k, v in values.items() if k in columns)
    return row


def locked(session: Session, cls: type[RowT], row_id: int) -> RowT | None:
    """Row ``row_id`` of ``cls``, read again and locked with ``TAKE_TURNS``.

    On SQLite a write transaction holds the whole store from its first statement, so
    a row this transaction loaded already is current and is returned without a query.
    (A row the transaction changed with a Core statement of its own must be read with
    ``read_locked``: its loaded copy does not know the change.)
    """
    if session.get_bind().dialect.name == "sqlite":
        known = session.identity_map.get(cls.__mapper__.identity_key_from_primary_key((row_id,)))
        if known is not None:
            return cast(RowT, known)
    return read_locked(session, cls, row_id)


def read_locked(session: Session, cls: type[RowT], row_id: int) -> RowT | None:
    """``session.get(cls, row_id, with_for_update=TAKE_TURNS)`` through one Core query.

    The ORM's load by primary key (its statement, cache key and loading context) cost
    several times the query it sends, on the path every inbound record takes. As with
    ``session.get``, an object the session holds for the row is returned (the row's
    lock taken all the same), its unloaded columns filled from the row just read."""
    statement, keys = _locked_read_of(cls)
    rows = rows_of(session.connection(), statement, {"row_id": row_id})
    if not rows:
        return None
    values = dict(zip(keys, rows[0], strict=True))
    held = session.identity_map.get(cls.__mapper__.identity_key_from_primary_key((row_id,)))
    if held is None:
        return attach_loaded(session, cls, values)
    for key in instance_state(held).unloaded & values.keys():
        set_committed_value(held, key, values[key])
    return cast(RowT, held)


def read_loaded(session: Session, cls: type[RowT], values: dict[str, Any]) -> RowT:
    """The ``cls`` row a Core query of this session just read, every column in ``values``:
    the object the session already holds for it, as an ORM query would return, or a new
    one in the session as if loaded."""
    held = session.identity_map.get(cls.__mapper__.identity_key_from_primary_key((values["id"],)))
    if held is not None:
        return cast(RowT, held)
    return attach_loaded(session, cls, values)


def attach_loaded(session: Session, cls: type[RowT], values: dict[str, Any]) -> RowT:
    """The ``cls`` row this transaction wrote with ``values`` (its id included), in the
    session as if just read; columns not in ``values`` load when first read."""
    columns = _column_keys(cls)
    unknown = values.keys() - _attribute_keys(cls)
    if unknown:
        raise TypeError(f"{cls.__name__} has no attribute {sorted(unknown)[0]!r}")
    row = cast(RowT, cls.__mapper__.class_manager.new_instance())
    state = instance_state(row)
    # Straight into the object's state, as loading a row does: setting each attribute
    # would record a change, only for ``make_transient_to_detached`` to undo it.
    state.dict.update((k, v) for k, v in values.items() if k in columns)
    make_transient_to_detached(row)
    for key in values.keys() - columns:
        set_committed_value(row, key, values[key])
    # The store has just given this row its id, so an object the session holds under it
    # is of a row written in a savepoint since rolled back (SQLite hands the id out
    # again); the rollback only expired it, as it does every object of the session.
    identity = state.key
    assert identity is not None  # given by make_transient_to_detached
    stale = session.identity_map.get(identity)
    if stale is not None:
        session.expunge(stale)
    session.add(row)
    return row


def update_loaded(row: Base, values: dict[str, Any]) -> None:
    """Set ``values`` on a row already in the store with one Core ``UPDATE`` by id, and
    keep them on the object as loaded, so the unit of work has nothing to flush for it.

    A row not yet written, or outside a session, is changed the ordinary way."""
    state = inspect(row)
    session = state.session
    if session is None or not state.persistent:
        for key, value in values.items():
            setattr(row, key, value)
        return
    assert state.identity is not None  # a persistent row has its key
    rows_of(session.connection(), _update_of(type(row)), {"row_id": state.identity[0], **values})
    for key, value in values.items():
        set_committed_value(row, key, value)


def _locked_read_of(cls: type[Base]) -> tuple[Select[Any], tuple[str, ...]]:
    """The query of one row by id, locked, and the attribute key of each column it reads."""
    known = _LOCKED_READS.get(cls)
    if known is None:
        attributes = inspect(cls).column_attrs
        keys = tuple(attribute.key for attribute in attributes)
        table = cast(Table, inspect(cls).local_table)
        statement = (
            select(*(attribute.columns[0] for attribute in attributes))
            .where(table.c.id == bindparam("row_id"))
            .with_for_update(key_share=TAKE_TURNS["key_share"])
        )
        known = _LOCKED_READS[cls] = (statement, keys)
    return known


def _update_of(cls: type[Base]) -> Update:
    statement = _UPDATES.get(cls)
    if statement is None:
        table = cast(Table, inspect(cls).local_table)
        # Its SET clause is made from each execution's column parameters.
        statement = _UPDATES[cls] = update(table).where(table.c.id == bindparam("row_id"))
    return statement


def _column_keys(cls: type[Base]) -> frozenset[str]:
    keys = _COLUMN_KEYS.get(cls)
    if keys is None:
        keys = _COLUMN_KEYS[cls] = frozenset(inspect(cls).column_attrs.keys())
    return keys


def _attribute_keys(cls: type[Base]) -> frozenset[str]:
    """Its columns' and relationships' names: what a loaded row may be given."""
    keys = _ATTRIBUTE_KEYS.get(cls)
    if keys is None:
        keys = _ATTRIBUTE_KEYS[cls] = _column_keys(cls) | set(inspect(cls).relationships.keys())
    return keys


def _insert_of(cls: type[Base]) -> Insert:
    statement = _INSERTS.get(cls)
    if statement is None:
        table = cast(Table, inspect(cls).local_table)
        statement = _INSERTS[cls] = insert(table).returning(table.c.id)
    return statement


@dataclass(frozen=True, slots=True)
class _Defaults:
    """A table's column defaults, sorted once: values, and callables made per row."""

    fixed: dict[str, Any]
    made: tuple[tuple[str, Callable[[Any], Any]], ...]


_DEFAULTS: dict[type[Base], _Defaults] = {}


def _defaults_of(cls: type[Base]) -> _Defaults:
    """Each column's value when none is given: its Python default, else NULL.

    A column the database fills itself (a server default) is left out, and loads
    when first read."""
    known = _DEFAULTS.get(cls)
    if known is not None:
        return known
    fixed: dict[str, Any] = {}
    made: list[tuple[str, Callable[[Any], Any]]] = []
    for key, column in inspect(cls).columns.items():
        if column.primary_key or column.server_default is not None:
            continue
        default = column.default
        if default is None:
            fixed[key] = None
        elif default.is_scalar:
            fixed[key] = default.arg  # type: ignore[attr-defined]
        elif default.is_callable:
            made.append((key, default.arg))  # type: ignore[attr-defined]
    known = _DEFAULTS[cls] = _Defaults(fixed, tuple(made))
    return known
