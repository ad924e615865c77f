"""Optimistic locking: the one way two people saving the same record at once are kept apart.

Every record people edit in a form — projects, results, indicators, reporting periods, accounts
(administrators' edits), organisations, criteria sets, scales, recommendations, submissions,
evaluations and scorecards — has an integer `version` column (`models.base.Versioned`;
submissions, evaluations and scorecards had theirs already). Every edit form carries the version
it was loaded with in one hidden field (`VersionField`). Saving starts with `claim()`:

    UPDATE <table> SET version = version + 1 [, ...] WHERE id = :id AND version = :loaded [AND ...]

One statement, so the database decides: of two saves of the same loaded version exactly one
changes the row; the other changes nothing and gets an `EditConflict` that says who changed the
record and when (from the audit trail, where it has it). On PostgreSQL the second UPDATE waits for
the first transaction and then finds the version moved on; on SQLite the second writer waits for
the database's write lock and finds the same. A claim comes before anything else the save writes,
so the loser has written nothing; the view rolls back and shows the form again with what the user
typed and the conflict's message, and the form now carries the current version, so saving again
(after checking) is a deliberate choice, never a silent overwrite.

Why a generalised conditional UPDATE rather than SQLAlchemy's `version_id_col` mapper option:

- `version_id_col` checks the version the *session* loaded, at flush, not the version the *form*
  was loaded with minutes earlier; the form's version would still need checking by hand.
- It only checks when the flush writes the row itself. An edit that changes only related rows
  (a project's countries and sectors) emits no UPDATE of the project, so two such saves would both
  pass. `claim()` always writes the row it locks.
- It bumps and checks on *every* ORM update of the row. Accounts are written by bookkeeping (last
  sign-in, the two-factor step, sessions): an administrator's edit would be refused because the
  person signed in meanwhile, and a sign-in racing with an administrator's save would fail with a
  StaleDataError (a 500) in code that never edits anything.
- The submission workflow already guards every transition with this conditional UPDATE, with a
  further condition on the status; `claim()` takes such conditions, so the workflow, the
  evaluations and the plain edit forms share one statement and one error.

Changes made without an edit form (an import, a move up or down, an approval, an account
deactivated) move the version too, by `version = version + 1` at the flush, so that forms opened
before them are stale as well; columns a model lists in `__version_ignores__` (an account's
sign-ins and preferences) are bookkeeping and move nothing. The version is not captured by the
audit trail (mel_app/audit/capture.py): it is bookkeeping, not something a person changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import InstanceState, Session
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import HiddenInput

from mel_app import dates
from mel_app.extensions import db
from mel_app.integers import BoundedIntegerField
from mel_app.kit.errors import DomainError
from mel_app.models import AuditEvent, utcnow
from mel_app.models.base import Versioned


class EditConflict(DomainError):
    """Someone else changed the record since the user loaded it. `str()` is the user's message.

    The one conflict error: the submission workflow's `WorkflowConflict` and the evaluations'
    `ConflictError` are kinds of it.
    """

    who: str | None = None
    when: datetime | None = None

    def __init__(self, message: str = "", *, who: str | None = None, when: datetime | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.who, self.when = who, when

    def __str__(self) -> str:
        return self.message or self.describe()

    def describe(self) -> str:
        if self.who and self.when:
            return str(
                _(
                    "%(who)s changed this at %(when)s, after you opened it. Nothing of yours was lost: "
                    "check it and send it again.",
                    who=self.who,
                    when=format_when(self.when),
                )
            )
        return str(
            _(
                "Someone else changed this in the meantime. Nothing of yours was lost: "
                "check it and send it again."
            )
        )


def format_when(when: datetime) -> str:
    """Today's changes by their time alone (with its zone), older ones with their date."""
    # "Today" is the reader's day, not UTC's.
    if dates.local(when).date() == dates.local(utcnow()).date():
        return dates.format_time(when)
    return dates.format_datetime(when, "short")


def last_change(obj: Any, actions: Iterable[str] | None = None) -> EditConflict:
    """The conflict with `obj`: who changed it last and when, from the audit trail.

    `actions` limits the events read to those that change what the form edits (an account's
    trail also holds its sign-ins, which change nothing an administrator edits).
    """
    query = sa.select(AuditEvent.actor_name, AuditEvent.occurred_at).where(
        AuditEvent.entity_type == type(obj).__tablename__, AuditEvent.entity_id == str(obj.id)
    )
    if actions is not None:
        query = query.where(AuditEvent.action.in_(list(actions)))
    row = db.session.execute(query.order_by(AuditEvent.id.desc()).limit(1)).first()
    if row is None:
        return EditConflict()
    return EditConflict(who=row.actor_name, when=row.occurred_at)


def check(
    obj: Any, loaded_version: int | None, *, conflict: Callable[[Any], Exception] = last_change
) -> None:
    """Refuse at once when the form's version is not the row's (or the form sent none).

    Only an early answer: `claim()` is what keeps two saves apart.
    """
    if loaded_version is None or obj.version != loaded_version:
        raise conflict(obj)


def claim(
    obj: Any,
    loaded_version: int | None,
    *conditions: Any,
    values: dict[str, Any] | None = None,
    conflict: Callable[[Any], Exception] = last_change,
) -> None:
    """Take the lock for a save: move `obj`'s version on, if it is still `loaded_version`.

    Call it before changing anything else in the session. `conditions` are further SQL conditions
    the row must meet (a status); `values` further columns to set in the same statement. Raises
    `conflict(obj)` — by default an `EditConflict` naming who changed the record and when — when
    someone saved in between, the form sent no version, or a condition no longer holds; the row is
    then reloaded so the page shows what is stored now.
    """
    model = type(obj)
    won = False
    if loaded_version is not None:
        result: CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
            sa.update(model)
            .where(model.id == obj.id, model.version == loaded_version, *conditions)
            .values({"version": loaded_version + 1, **_unstamped(model), **(values or {})})
            .execution_options(synchronize_session=False)
        )
        won = result.rowcount == 1
    if not won or loaded_version is None:
        db.session.refresh(obj)
        raise conflict(obj)
    # What the statement wrote, without the ORM writing it a second time at the next flush.
    set_committed_value(obj, "version", loaded_version + 1)
    db.session.info.setdefault(_CLAIMED, set()).add(sa.inspect(obj).key)
    for key, value in (values or {}).items():
        set_committed_value(obj, key, value)


_CLAIMED = "locking_claimed"


def _unstamped(model: type) -> dict[str, Any]:
    """`updated_at` as it is: the lock alone is no change (and leaves nothing in the audit trail);
    the save's own changes, flushed next, move it."""
    return {"updated_at": model.updated_at} if hasattr(model, "updated_at") else {}


def _move_versions(session: Session, flush_context: Any, instances: Any) -> None:
    """Any other change to a versioned row moves its version too (`version = version + 1`).

    An import, a move up or down, an approval, an account deactivated: forms opened before it are
    stale, as after an edit. A row claimed in this transaction has moved already (once per save);
    columns a model lists in `__version_ignores__` are bookkeeping and move nothing.
    """
    claimed = session.info.get(_CLAIMED, set())
    for obj in session.dirty:
        if not isinstance(obj, Versioned):
            continue
        state: InstanceState[Versioned] = instance_state(obj)
        if state.key is None or state.key in claimed or state.attrs.version.history.has_changes():
            continue
        ignored = type(obj).__version_ignores__
        if any(
            state.attrs[attr.key].history.has_changes()
            for attr in state.mapper.column_attrs
            if attr.key not in ignored
        ):
            obj.version = type(obj).version + 1


def _forget_claims(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_CLAIMED, None)


if not event.contains(Session, "before_flush", _move_versions):
    event.listen(Session, "before_flush", _move_versions)
    event.listen(Session, "after_transaction_end", _forget_claims)


class VersionField(BoundedIntegerField):
    """The hidden field of every edit form: the version of the record the form was loaded with.

    The view sets it from the record on GET (`set`), and again after a conflict, so that saving
    once more is made against what is stored now. `required=False` for a form that also creates
    records (nothing to check then): on an edit, a missing version is refused by `claim()` as a
    conflict, with the user's input kept.
    """

    widget = HiddenInput()

    def __init__(self, *, required: bool = True, **kwargs: Any) -> None:
        required_ = InputRequired(message=_l("Reload the page and try again."))
        super().__init__(validators=[required_ if required else Optional()], minimum=1, **kwargs)

    data: int | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:  # a form sent without it: no version, even if the form was given the record
            self.data = None
            return
        super().process_formdata(valuelist)

    def set(self, version: int) -> None:
        self.data, self.raw_data = version, None
