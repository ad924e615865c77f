"""Automatic capture of every change to audited models, in the same transaction as the change.

Services cannot forget to audit: session events turn inserts, updates and deletes of models
marked `__audited__` into audit events, and services only add the action's name and reason with
`audit.record()`. Captured are

- the unit of work (objects added, changed, deleted, then flushed): `before_flush` remembers the
  row as it was (reading it from the database when the session does not hold the old values,
  e.g. after a commit expired them), `after_flush` compares it with the row as written, so
  values set by the database or by `onupdate` (`updated_at`) are in the trail too; a deletion is
  recorded whatever made it: `session.delete()`, a cascade, or a row taken out of its parent's
  `delete-orphan` collection (a project's countries, sectors and tags, a result's tags), which
  the flush itself decides to delete;
- ORM-enabled UPDATE and DELETE statements run through the session, such as the workflow's
  conditional `UPDATE ... WHERE id = :id AND status = :expected AND version = :v`: the rows
  they touch are read before (locked, on PostgreSQL) and after the statement.

An ORM INSERT statement into an audited table is refused (add the objects to the session
instead). SQL that bypasses the session — `session.connection().execute(...)`, raw SQL, the
legacy `bulk_*` methods — is not seen; docs/AUDIT.md lists these limits.

Captured events wait in the session until it commits; they are chained (under the chain's lock)
and inserted just before the commit, so the lock is held for the shortest time and is always the
last lock a transaction takes, which keeps it out of deadlocks with row locks. A rolled-back
transaction, or savepoint, takes its events with it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import InstanceState, Mapper, ORMExecuteState, Session, SessionTransaction, object_session
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.orm.properties import ColumnProperty

from mel_app.audit import chain
from mel_app.models.base import Base

if TYPE_CHECKING:
    from typing_extensions import TypeIs

SYSTEM = "system"

# A captured change: (kind, object or None, entity type, entity id, project, before, after).
Found = tuple[str, Any, str, str | None, int | None, dict[str, Any] | None, dict[str, Any] | None]


@dataclass
class Actor:
    id: int | None
    name: str
    remote_addr: str | None = None


SYSTEM_ACTOR = Actor(None, SYSTEM)


class AuditCaptureError(RuntimeError):
    """A change to an audited table that the trail could not capture; it is refused instead."""


@dataclass
class Note:
    """What a service says about a change: its action name and reason (and who did it)."""

    action: str
    actor: Actor | None = None
    reason: str | None = None
    target: Any = None
    project_id: int | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass
class _Captured:
    """An event captured in this transaction, waiting for the commit to join the chain."""

    fields: dict[str, Any]
    key: tuple[str, str | None] | None
    target: Any
    seq: int
    noted: bool = False


@dataclass
class _Pending:
    events: list[_Captured] = field(default_factory=list)
    notes: list[tuple[int, Note]] = field(default_factory=list)
    # For the flush in progress: rows as they were (and the project of rows being deleted), and
    # attributes given SQL expressions, whose values can only be read back from the database.
    before: dict[InstanceState[Any], tuple[dict[str, Any], int | None]] = field(default_factory=dict)
    expressions: dict[InstanceState[Any], set[str]] = field(default_factory=dict)
    # What the flush in progress created and changed (found by after_flush), and the objects it
    # deleted (told by persistent_to_deleted, which comes later): queued together at its end.
    flushed: list[Found] = field(default_factory=list)
    gone: list[Any] = field(default_factory=list)
    savepoints: dict[SessionTransaction, tuple[int, int]] = field(default_factory=dict)
    # Set once the commit has written the pending events: a later flush writes at once.
    committing: bool = False
    counter: itertools.count[int] = field(default_factory=itertools.count)


def _state(session: Session) -> _Pending:
    pending: _Pending = session.info.setdefault("audit_pending", _Pending())
    return pending


def set_actor(session: Session, actor: Actor) -> None:
    """The default actor for changes in this session (the request's user, or the CLI's)."""
    session.info["audit_actor"] = actor


def current_actor(session: Session) -> Actor:
    actor: Actor | None = session.info.get("audit_actor")
    return actor or SYSTEM_ACTOR


def add_note(session: Session, note: Note) -> None:
    pending = _state(session)
    pending.notes.append((next(pending.counter), note))


def entity_type(obj: Any) -> str:
    name: str = type(obj).__tablename__
    return name


def entity_id(obj: Any) -> str | None:
    # The identity key is only assigned after after_flush; the primary key values are there already.
    identity = inspect(type(obj)).primary_key_from_instance(obj)
    if any(part is None for part in identity):
        return None
    return _join_key(identity)


def _join_key(values: Any) -> str:
    return ":".join(str(part) for part in values)


def project_id_of(obj: Any) -> int | None:
    path = type(obj).__audit_project__
    if not path:
        return None
    value: Any = obj
    for name in path.split("."):
        step = getattr(value, name, None)
        if step is None:
            step = _related_by_key(value, name)
        if step is None:
            return None
        value = step
    return cast(int | None, value)


def _related_by_key(obj: Any, name: str) -> Any:
    """A many-to-one by its foreign key: a row just inserted (still pending while its flush runs)
    does not lazy-load its relationships, but its foreign key is set."""
    relationship = inspect(type(obj)).relationships.get(name)
    session = object_session(obj)
    if relationship is None or relationship.uselist or session is None:
        return None
    mapper = inspect(type(obj))
    key = [
        getattr(obj, mapper.get_property_by_column(column).key, None) for column in relationship.local_columns
    ]
    if any(part is None for part in key):
        return None
    return session.get(relationship.mapper.class_, key[0] if len(key) == 1 else tuple(key))


def _is_audited(obj: object) -> TypeIs[Base]:
    return isinstance(obj, Base) and type(obj).__audited__


# Never captured on any model: the optimistic lock's edit counter (mel_app/locking.py) is
# bookkeeping that moves with every save, not a change a person made or needs to read.
UNCAPTURED = frozenset({"version"})


@cache
def _audited_attrs(cls: type[Base]) -> tuple[ColumnProperty[Any], ...]:
    mapper: Mapper[Base] = inspect(cls)
    return tuple(
        attr
        for attr in mapper.column_attrs
        if attr.key not in cls.__audit_exclude__ and attr.key not in UNCAPTURED
    )


def _columns(obj: Base) -> list[ColumnProperty[Any]]:
    return list(_audited_attrs(type(obj)))


@cache
def _audited_tables() -> dict[str, type[Base]]:
    return {
        cast(sa.Table, mapper.local_table).name: mapper.class_
        for mapper in Base.registry.mappers
        if mapper.class_.__audited__ and mapper.local_table is not None
    }


def snapshot(obj: Base) -> dict[str, Any]:
    """The loaded audited values of an object, JSON-ready."""
    state = inspect(obj)
    values = {}
    for attr in _columns(obj):
        if attr.key in state.unloaded:
            continue
        values[attr.key] = chain.to_json_value(getattr(obj, attr.key))
    return values


def changes(obj: Base) -> tuple[dict[str, Any], dict[str, Any]]:
    """Changed audited values from the attribute history (used where no prior row was taken)."""
    state = inspect(obj)
    before, after = {}, {}
    for attr in _columns(obj):
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        old_json, new_json = chain.to_json_value(old), chain.to_json_value(new)
        if old_json != new_json:
            before[attr.key], after[attr.key] = old_json, new_json
    return before, after


def _diff(
    cls: type[Base], before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    old_values, new_values = {}, {}
    for attr in _audited_attrs(cls):
        old, new = chain.to_json_value(before.get(attr.key)), chain.to_json_value(after.get(attr.key))
        if old != new:
            old_values[attr.key], new_values[attr.key] = old, new
    return old_values, new_values


def _row_query(cls: type[Base]) -> sa.Select[Any]:
    return sa.select(*(attr.columns[0].label(attr.key) for attr in _audited_attrs(cls)))


def _pk_in(cls: type[Base], keys: list[tuple[Any, ...]]) -> sa.ColumnElement[bool]:
    # Mapped attributes rather than table columns, so that the ORM can still evaluate a
    # statement's criteria in Python (synchronize_session="evaluate").
    mapper: Mapper[Base] = inspect(cls)
    pk: list[sa.ColumnElement[Any]] = [
        getattr(cls, mapper.get_property_by_column(column).key) for column in mapper.primary_key
    ]
    if len(pk) == 1:
        return pk[0].in_([key[0] for key in keys])
    return sa.tuple_(*pk).in_(keys)


def _read_row(session: Session, cls: type[Base], identity: tuple[Any, ...] | None) -> dict[str, Any]:
    if identity is None:
        return {}  # not in the database yet
    row = session.connection().execute(_row_query(cls).where(_pk_in(cls, [identity]))).mappings().first()
    return dict(row) if row else {}


def _row_before_flush(session: Session, obj: Base) -> dict[str, Any]:
    """The row as it is in the database before this flush writes it."""
    state = inspect(obj)
    values: dict[str, Any] = {}
    incomplete = False
    for attr in _audited_attrs(type(obj)):
        if attr.key in state.committed_state:
            old = state.committed_state[attr.key]
            if old is NO_VALUE:  # set without having been loaded: the old value is only in the database
                incomplete = True
            else:
                values[attr.key] = old
        elif attr.key in state.dict:
            values[attr.key] = state.dict[attr.key]
        else:
            incomplete = True  # expired or deferred, and perhaps rewritten by `onupdate`
    if incomplete:
        for key, value in _read_row(session, type(obj), state.identity).items():
            values.setdefault(key, value)
    return values


def _row_after_flush(
    session: Session, obj: Base, before: dict[str, Any] | None, expressions: set[str]
) -> dict[str, Any]:
    """The row as this flush wrote it."""
    state = inspect(obj)
    values: dict[str, Any] = {}
    read_back = False
    for attr in _audited_attrs(type(obj)):
        column = attr.columns[0]
        if attr.key in state.dict:
            values[attr.key] = state.dict[attr.key]
        elif (
            attr.key in expressions or column.server_default is not None or column.server_onupdate is not None
        ):
            read_back = True
        elif before is not None:
            values[attr.key] = before.get(attr.key)  # not written by this flush
        else:
            values[attr.key] = None  # a new row's unset column without a server default is NULL
    if read_back:
        values.update(_read_row(session, type(obj), state.identity))
    return values


def _new_event(actor: Actor, **fields: Any) -> dict[str, Any]:
    return {
        "actor_id": actor.id,
        "actor_name": actor.name,
        "remote_addr": actor.remote_addr,
        "reason": None,
        **fields,
    }


_KIND_ORDER = {"delete": 0, "create": 1, "update": 2}


def _capture(pending: _Pending, actor: Actor, found: list[Found]) -> None:
    """Queue captured changes: (kind, object or None, entity type, entity id, project, before, after)."""
    # A stable order inside one flush keeps replays deterministic.
    # A row deleted and inserted again with the same key in one flush (the ORM writes one UPDATE)
    # is recorded deleted first, so that a replay ends with the row in the database.
    found.sort(key=lambda f: (f[2], f[3] or "", _KIND_ORDER[f[0]]))
    for kind, target, type_name, id_value, project_id, before, after in found:
        pending.events.append(
            _Captured(
                fields=_new_event(
                    actor,
                    action=f"{type_name}.{kind}",
                    entity_type=type_name,
                    entity_id=id_value,
                    project_id=project_id,
                    before=before,
                    after=after,
                ),
                key=(type_name, id_value),
                target=target,
                seq=next(pending.counter),
            )
        )


@cache
def _orphan_classes() -> tuple[type[Base], ...]:
    """Audited models held in a `delete-orphan` collection: the flush deletes a row of theirs that
    has left its parent, without it ever being in `session.deleted`."""
    classes = {
        mapper.class_
        for parent in Base.registry.mappers
        for relationship in parent.relationships
        if relationship.cascade.delete_orphan
        for mapper in relationship.mapper.self_and_descendants
        if mapper.class_.__audited__
    }
    return tuple(sorted(classes, key=lambda cls: cls.__name__))


@cache
def _orphan_collections(cls: type[Base]) -> tuple[str, ...]:
    """A model's delete-orphan relationships whose rows are audited."""
    audited = _orphan_classes()
    mapper: Mapper[Base] = inspect(cls)
    return tuple(
        relationship.key
        for relationship in mapper.relationships
        if relationship.cascade.delete_orphan and issubclass(relationship.mapper.class_, audited)
    )


def _orphan_candidates(session: Session) -> list[Base]:
    """Rows this flush may delete as orphans: changed rows of the models above (leaving a parent
    changes the row's own link to it), and the rows taken out of a changed parent's collection
    (for a relationship without a link back)."""
    classes = _orphan_classes()
    if not classes:
        return []
    dirty = session.dirty
    found: list[Base] = [obj for obj in dirty if isinstance(obj, classes)]
    for parent in dirty:
        if not isinstance(parent, Base):
            continue
        keys = _orphan_collections(type(parent))
        if keys:
            attrs = inspect(parent).attrs
            found.extend(
                child for key in keys for child in attrs[key].history.deleted if isinstance(child, classes)
            )
    return found


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    pending = _state(session)
    pending.before.clear()
    pending.expressions.clear()
    pending.flushed.clear()
    pending.gone.clear()
    deleted = session.deleted
    for obj in [*session.dirty, *deleted]:
        if not _is_audited(obj):
            continue
        state = inspect(obj)
        if state.key is None:
            continue
        is_deleted = obj in deleted
        if not is_deleted and not state.committed_state:
            continue
        pending.before[state] = (
            _row_before_flush(session, obj),
            project_id_of(obj) if is_deleted else None,
        )
    # A row that leaves its parent's delete-orphan collection is deleted by the flush itself, which
    # decides only then which rows are orphans. Take the row as it is now, and its project while
    # its link can still be followed, for each row that may turn out to be one; the deletions
    # themselves are known at the end of the flush (_persistent_to_deleted).
    for obj in _orphan_candidates(session):
        state = inspect(obj)
        if state.key is None or obj in deleted:
            continue
        taken = pending.before.get(state)
        row = taken[0] if taken is not None else _row_before_flush(session, obj)
        pending.before[state] = (row, project_id_of(obj))
    for obj in [*session.new, *session.dirty]:
        if _is_audited(obj):
            state = inspect(obj)
            expressions = {k for k, v in state.dict.items() if isinstance(v, sa.sql.ClauseElement)}
            if expressions:
                pending.expressions[state] = expressions


def _after_flush(session: Session, flush_context: Any) -> None:
    """The rows this flush created and changed, as written; queued by _after_flush_postexec."""
    pending = _state(session)
    found = pending.flushed
    for obj in session.new:
        if not _is_audited(obj):
            continue
        state = inspect(obj)
        row = _row_after_flush(session, obj, None, pending.expressions.get(state, set()))
        after = {attr.key: chain.to_json_value(row.get(attr.key)) for attr in _audited_attrs(type(obj))}
        found.append(("create", obj, entity_type(obj), entity_id(obj), project_id_of(obj), None, after))
    for obj in session.dirty:
        if not _is_audited(obj):
            continue
        state = inspect(obj)
        taken = pending.before.get(state)
        if taken is None:
            before, after = changes(obj)
        else:
            row = _row_after_flush(session, obj, taken[0], pending.expressions.get(state, set()))
            before, after = _diff(type(obj), taken[0], row)
        if before or after:
            found.append(("update", obj, entity_type(obj), entity_id(obj), project_id_of(obj), before, after))


def _persistent_to_deleted(session: Session, obj: Any) -> None:
    """An object whose row the flush deleted: by `session.delete()`, by a cascade, or as an orphan.

    SQLAlchemy decides which rows are orphans during the flush, after `before_flush` (and some
    only while it runs its dependency rules), so `session.deleted` never holds them; its
    documentation names this public event as the one way to be told of every row a flush deleted,
    whatever the cause, where repeating its orphan rules here would lean on private methods
    (`Mapper._is_orphan`) and miss the rows found by the dependency rules. It comes at the end of
    the flush, after `after_flush`: the deletions are queued with the flush's other changes in
    `after_flush_postexec`, the rows as they were having been taken by `before_flush`."""
    if _is_audited(obj):
        _state(session).gone.append(obj)


def _after_flush_postexec(session: Session, flush_context: Any) -> None:
    pending = _state(session)
    gone = {inspect(obj) for obj in pending.gone}
    # An orphan whose values also changed is recorded deleted with its old values, as a row
    # changed and then deleted by name is: no update of a row that is gone.
    found = [f for f in pending.flushed if f[1] is None or inspect(f[1]) not in gone]
    for obj in pending.gone:
        taken = pending.before.get(inspect(obj))
        if taken is None:
            before, project_id = snapshot(obj), project_id_of(obj)
        else:
            before = {k: chain.to_json_value(v) for k, v in taken[0].items()}
            project_id = taken[1]
        found.append(("delete", obj, entity_type(obj), entity_id(obj), project_id, before, None))
    pending.before.clear()
    pending.expressions.clear()
    pending.flushed.clear()
    pending.gone.clear()
    if found:
        _capture(pending, current_actor(session), found)
        if pending.committing:
            _write(session)


def _project_id_of_row(
    session: Session, cls: type[Base], row: dict[str, Any], identity: tuple[Any, ...]
) -> int | None:
    path = cls.__audit_project__
    if not path:
        return None
    if "." not in path:
        return cast(int | None, row.get(path))
    obj = session.get(cls, identity)
    return project_id_of(obj) if obj is not None else None


def _do_orm_execute(orm_state: ORMExecuteState) -> Any:
    statement = orm_state.statement
    if not statement.is_dml:
        return None
    dml = (
        statement
        if isinstance(statement, sa.Insert | sa.Update | sa.Delete)
        else getattr(statement, "element", None)
    )
    table = getattr(dml, "table", None)
    cls = _audited_tables().get(getattr(table, "name", ""))
    if cls is None:
        return None
    if isinstance(dml, sa.Insert):
        raise AuditCaptureError(
            f"An INSERT statement into the audited table {cls.__tablename__} would escape the audit "
            "trail: add the objects to the session instead."
        )
    if dml is not statement:
        raise AuditCaptureError(
            f"A statement on the audited table {cls.__tablename__} wrapped in a SELECT cannot be "
            "audited: run the UPDATE or DELETE itself."
        )
    return _capture_statement(orm_state, statement, cls)


def _capture_statement(orm_state: ORMExecuteState, statement: Any, cls: type[Base]) -> Any:
    """Run an UPDATE or DELETE on an audited table, capturing the rows it changes."""
    session = orm_state.session
    connection = session.connection()
    mapper: Mapper[Base] = inspect(cls)
    pk_keys = [mapper.get_property_by_column(column).key for column in mapper.primary_key]
    is_delete = isinstance(statement, sa.Delete)
    params = orm_state.parameters
    by_primary_key = isinstance(params, list)  # ORM "bulk UPDATE by primary key"
    by_key: list[Mapping[str, Any]] = list(params) if isinstance(params, list) else []
    if connection.dialect.name == "sqlite":
        # Take the write lock now, so the rows read below are still the rows the statement changes.
        chain.lock_chain(connection)
    query = _row_query(cls)
    if by_primary_key:
        query = query.where(_pk_in(cls, [tuple(p[k] for k in pk_keys) for p in by_key]))
    elif statement.whereclause is not None:
        query = query.where(statement.whereclause)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(of=mapper.local_table)
    rows = connection.execute(query, {} if by_primary_key else (params or {})).mappings().all()
    before = {tuple(row[k] for k in pk_keys): dict(row) for row in rows}
    if not by_primary_key:
        # Only the rows read (and locked) above: a row that starts matching meanwhile is left alone,
        # as if the statement had run a moment earlier, and nothing changes unrecorded.
        statement = statement.where(_pk_in(cls, list(before)))
    projects = {key: _project_id_of_row(session, cls, row, key) for key, row in before.items()}
    result = orm_state.invoke_statement(statement=statement)
    if not before:
        return result
    found: list[Found] = []
    type_name: str = cls.__tablename__
    if is_delete:
        for key, row in before.items():
            snapshot_ = {k: chain.to_json_value(v) for k, v in row.items()}
            found.append(("delete", None, type_name, _join_key(key), projects[key], snapshot_, None))
    else:
        written = connection.execute(_row_query(cls).where(_pk_in(cls, list(before)))).mappings().all()
        row_: RowMapping
        for row_ in written:
            key = tuple(row_[k] for k in pk_keys)
            old, new = _diff(cls, before[key], dict(row_))
            if old or new:
                found.append(("update", None, type_name, _join_key(key), projects[key], old, new))
    if found:
        pending = _state(session)
        _capture(pending, current_actor(session), found)
        if pending.committing:
            _write(session)
    return result


def _note_key(note: Note) -> tuple[str, str | None] | None:
    if note.target is None or not isinstance(note.target, Base):
        return None
    return (entity_type(note.target), entity_id(note.target))


def _match(events: list[_Captured], note: Note, seq: int) -> _Captured | None:
    """The change a note names: the first of its target's changes made after the note was
    recorded, else the last one made before it."""
    key = _note_key(note)
    if key is None:
        return None
    candidates = [e for e in events if not e.noted and (e.target is note.target or e.key == key)]
    later = [e for e in candidates if e.seq > seq]
    if later:
        return later[0]
    return candidates[-1] if candidates else None


def _write(session: Session) -> None:
    """Name the captured changes with the services' notes, then chain and insert them."""
    pending = _state(session)
    notes, pending.notes = pending.notes, []
    actor = current_actor(session)
    for seq, note in notes:
        captured = _match(pending.events, note, seq)
        if captured is not None:
            captured.noted = True
            captured.fields["action"] = note.action
            captured.fields["reason"] = note.reason
            if note.actor is not None:
                who = note.actor
                captured.fields.update(actor_id=who.id, actor_name=who.name, remote_addr=who.remote_addr)
            if note.project_id is not None:
                captured.fields["project_id"] = note.project_id
            continue
        target = note.target
        who = note.actor or actor
        key = _note_key(note)
        project_id = note.project_id
        if project_id is None and target is not None and isinstance(target, Base):
            project_id = project_id_of(target)
        fields = _new_event(
            who,
            action=note.action,
            entity_type=key[0] if key else None,
            entity_id=key[1] if key else None,
            project_id=project_id,
            before=note.before,
            after=note.after,
        )
        fields["reason"] = note.reason
        pending.events.append(_Captured(fields=fields, key=key, target=target, seq=seq, noted=True))
    if not pending.events:
        return
    events = sorted(pending.events, key=lambda e: e.seq)
    pending.events = []
    pending.savepoints.clear()
    chain.append(session.connection(), [e.fields for e in events])


def write_pending(session: Session) -> None:
    """Chain and insert what this transaction changed so far, each change named by its service's
    note, as the commit does. For one transaction that takes many steps in turn (the demo loader):
    a later step's change to the same record is then never taken for what an earlier note names."""
    session.flush()
    _write(session)


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint is released: its events wait for the real commit
    session.flush()
    _write(session)
    _state(session).committing = True


def _after_transaction_create(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        pending = _state(session)
        pending.savepoints[transaction] = (len(pending.events), len(pending.notes))


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get("audit_pending")
    if pending is None:
        return
    # A failed flush rolls back its own inner transaction: what is undone is the nearest
    # savepoint, or the whole transaction.
    boundary = previous_transaction
    while not boundary.nested and boundary.parent is not None:
        boundary = boundary.parent
    if not boundary.nested:
        session.info.pop("audit_pending", None)
        return
    mark = pending.savepoints.get(boundary)
    if boundary is previous_transaction:
        pending.savepoints.pop(boundary, None)
    if mark is not None:
        del pending.events[mark[0] :]
        del pending.notes[mark[1] :]


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        # Committed (and written), rolled back or closed: nothing of it may leak into the next one.
        session.info.pop("audit_pending", None)


def install(session_class: type[Session] | Any = Session) -> None:
    """Listen on every Session (idempotent)."""
    if event.contains(session_class, "after_flush", _after_flush):
        return
    event.listen(session_class, "before_flush", _before_flush)
    event.listen(session_class, "after_flush", _after_flush)
    event.listen(session_class, "persistent_to_deleted", _persistent_to_deleted)
    event.listen(session_class, "after_flush_postexec", _after_flush_postexec)
    event.listen(session_class, "do_orm_execute", _do_orm_execute)
    event.listen(session_class, "before_commit", _before_commit)
    event.listen(session_class, "after_transaction_create", _after_transaction_create)
    event.listen(session_class, "after_soft_rollback", _after_soft_rollback)
    event.listen(session_class, "after_transaction_end", _after_transaction_end)
