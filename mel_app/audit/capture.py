"""Automatic capture of every change to audited models, in the same transaction as the change.

Services cannot forget to audit: a `before_flush`/`after_flush` pair on every session turns
inserts, updates and deletes of models marked `__audited__` into audit events, and services only
add the action's name and reason with `audit.record()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from mel_app.audit import chain
from mel_app.models.base import Base, utcnow

SYSTEM = "system"


@dataclass
class Actor:
    id: int | None
    name: str
    remote_addr: str | None = None


SYSTEM_ACTOR = Actor(None, SYSTEM)


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
class _Pending:
    notes: list[Note] = field(default_factory=list)


def _state(session: Session) -> _Pending:
    return session.info.setdefault("audit_pending", _Pending())


def set_actor(session: Session, actor: Actor) -> None:
    """The default actor for changes in this session (the request's user, or the CLI's)."""
    session.info["audit_actor"] = actor


def current_actor(session: Session) -> Actor:
    return session.info.get("audit_actor") or SYSTEM_ACTOR


def add_note(session: Session, note: Note) -> None:
    _state(session).notes.append(note)


def entity_type(obj: Any) -> str:
    return type(obj).__tablename__


def entity_id(obj: Any) -> str | None:
    # The identity key is only assigned after after_flush; the primary key values are there already.
    identity = inspect(type(obj)).primary_key_from_instance(obj)
    if any(part is None for part in identity):
        return None
    return ":".join(str(part) for part in identity)


def project_id_of(obj: Any) -> int | None:
    path = type(obj).__audit_project__
    if not path:
        return None
    value: Any = obj
    for name in path.split("."):
        value = getattr(value, name, None)
        if value is None:
            return None
    return value


def _columns(obj: Any) -> list[Any]:
    mapper = inspect(type(obj))
    excluded = type(obj).__audit_exclude__
    return [attr for attr in mapper.column_attrs if attr.key not in excluded]


def snapshot(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    values = {}
    for attr in _columns(obj):
        if attr.key in state.unloaded:
            continue
        values[attr.key] = chain.to_json_value(getattr(obj, attr.key))
    return values


def changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
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


def _event(note: Note | None, actor: Actor, **fields: Any) -> dict[str, Any]:
    who = (note.actor if note and note.actor else None) or actor
    return {
        "occurred_at": utcnow(),
        "actor_id": who.id,
        "actor_name": who.name,
        "remote_addr": who.remote_addr,
        "reason": note.reason if note else None,
        **fields,
    }


def _take_note(pending: _Pending, obj: Any) -> Note | None:
    for i, note in enumerate(pending.notes):
        if note.target is obj:
            return pending.notes.pop(i)
    return None


def _after_flush(session: Session, flush_context: Any) -> None:
    pending = _state(session)
    actor = current_actor(session)
    events = []
    for kind, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if not isinstance(obj, Base) or not type(obj).__audited__:
                continue
            if kind == "update":
                before, after = changes(obj)
                if not after:
                    continue
            elif kind == "create":
                before, after = None, snapshot(obj)
            else:
                before, after = snapshot(obj), None
            note = _take_note(pending, obj)
            events.append(
                _event(
                    note,
                    actor,
                    action=note.action if note else f"{entity_type(obj)}.{kind}",
                    entity_type=entity_type(obj),
                    entity_id=entity_id(obj),
                    project_id=project_id_of(obj),
                    before=before,
                    after=after,
                )
            )
    # A stable order inside one flush keeps replays deterministic.
    events.sort(key=lambda e: (e["entity_type"], e["entity_id"] or "", e["action"]))
    chain.append(session.connection(), events)


def _before_commit(session: Session) -> None:
    session.flush()
    pending = _state(session)
    if not pending.notes:
        return
    actor = current_actor(session)
    events = []
    for note in pending.notes:
        target = note.target
        events.append(
            _event(
                note,
                actor,
                action=note.action,
                entity_type=entity_type(target) if target is not None else None,
                entity_id=entity_id(target) if target is not None else None,
                project_id=note.project_id
                if note.project_id is not None
                else (project_id_of(target) if target is not None else None),
                before=note.before,
                after=note.after,
            )
        )
    pending.notes.clear()
    chain.append(session.connection(), events)


def _forget(session: Session, *args: Any) -> None:
    session.info.pop("audit_pending", None)


def install(session_class: type[Session] | Any = Session) -> None:
    """Listen on every Session (idempotent)."""
    if event.contains(session_class, "after_flush", _after_flush):
        return
    event.listen(session_class, "after_flush", _after_flush)
    event.listen(session_class, "before_commit", _before_commit)
    event.listen(session_class, "after_rollback", _forget)
    event.listen(session_class, "after_soft_rollback", _forget)


def write_now(session: Session, notes: list[Note]) -> None:
    """Write explicit events at once (used where there is no other change to wait for)."""
    actor = current_actor(session)
    events = [
        _event(
            note,
            actor,
            action=note.action,
            entity_type=None,
            entity_id=None,
            project_id=note.project_id,
            before=note.before,
            after=note.after,
        )
        for note in notes
    ]
    chain.append(session.connection(), events)
