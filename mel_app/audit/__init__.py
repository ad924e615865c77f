"""The audit service (DESIGN.md §4).

Changes to audited models are captured automatically (see `capture`); services name the action
and give the reason with `record()`, in the caller's transaction. Events without a row change
(a failed login, an export) are recorded the same way with no target. Bulk loads that write rows
without the ORM give their events to `append_many`, which chains them as the capture does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from mel_app.audit import chain
from mel_app.audit.capture import (
    SYSTEM_ACTOR,
    Actor,
    AuditCaptureError,
    Note,
    add_note,
    current_actor,
    install,
    set_actor,
    write_pending,
)
from mel_app.audit.chain import append_many


def actor_of(user: Any, remote_addr: str | None = None) -> Actor:
    if user is None or not getattr(user, "is_authenticated", False):
        return Actor(None, "anonymous", remote_addr)
    return Actor(user.id, user.display_name, remote_addr)


def record(
    session: Session,
    action: str,
    *,
    actor: Any = None,
    target: Any = None,
    reason: str | None = None,
    project_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Name the action (and reason) of `target`'s change, or record an event of its own.

    The note names the first change to `target` captured after it, else the last one captured
    before it in the same transaction (so it may be recorded before or after the change is
    flushed); with no change to `target`, it becomes an event of its own, with the given `before`
    and `after`. Nothing is written until the session commits, so the event is part of the same
    transaction as the change it describes. `actor` is a User (or an `Actor`); by default, the
    session's actor (the request's user, or `system`).
    """
    if actor is not None and not isinstance(actor, Actor):
        fallback = current_actor(session)
        actor = actor_of(actor, fallback.remote_addr)
    add_note(
        session,
        Note(
            action=action,
            actor=actor,
            reason=reason,
            target=target,
            project_id=project_id,
            before=chain.to_json_value(before) if before else None,
            after=chain.to_json_value(after) if after else None,
        ),
    )


def head_hash(session: Session) -> str:
    return chain.head(session.connection())[1]


__all__ = [
    "SYSTEM_ACTOR",
    "Actor",
    "AuditCaptureError",
    "actor_of",
    "append_many",
    "chain",
    "head_hash",
    "install",
    "record",
    "set_actor",
    "write_pending",
]
