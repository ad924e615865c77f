"""The submission state machine (DESIGN.md §3).

    draft --submit--> submitted --return--> returned --submit--> submitted
    submitted --approve--> approved --reopen--> returned
    draft/returned --withdraw--> withdrawn

Every transition, and every edit, is one conditional UPDATE (`mel_app.locking.claim`:
`... WHERE id = :id AND status = :expected AND version = :v`). Of two people acting on the same
version exactly one changes the row; the other gets a `WorkflowConflict` that says who did what
and when, and their own input is never lost (the views show it again). Who is told of a
transition is the caller's business (the submissions service notifies).
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from mel_app import audit, locking
from mel_app.extensions import db
from mel_app.models import AuditEvent, Status, Submission, User, utcnow
from mel_app.workflow.labels import status_label
from mel_app.workflow.machine import Machine, Transition, WorkflowError


class Action(enum.StrEnum):
    submit = "submit"
    return_ = "return"
    approve = "approve"
    reopen = "reopen"
    withdraw = "withdraw"


TRANSITIONS: dict[Action, Transition[Status]] = {
    Action.submit: Transition(frozenset({Status.draft, Status.returned}), Status.submitted),
    Action.return_: Transition(frozenset({Status.submitted}), Status.returned),
    Action.approve: Transition(frozenset({Status.submitted}), Status.approved),
    Action.reopen: Transition(frozenset({Status.approved}), Status.returned),
    Action.withdraw: Transition(frozenset({Status.draft, Status.returned}), Status.withdrawn),
}


def _refusal(status: Status, action: Action) -> str:
    return str(_("This is not possible while the submission is %(status)s.", status=status_label(status)))


SUBMISSION: Machine[Status, Action] = Machine("submission", Status, TRANSITIONS, _refusal)

# The organisation edits its words only while it holds the pen.
EDITABLE = frozenset({Status.draft, Status.returned})
# The ILO records its responses to design input while the input is under review.
RESPONDABLE = frozenset({Status.submitted})
# Still counts for the reporting grid and blocks a second report for the same period.
LIVE = frozenset(set(Status) - {Status.withdrawn})


def allowed(status: Status, action: Action) -> bool:
    return SUBMISSION.allowed(status, action)


def is_editable(status: Status) -> bool:
    return status in EDITABLE


class WorkflowConflict(WorkflowError, locking.EditConflict):
    """Someone else changed the submission since the user loaded it (`mel_app.locking`)."""

    def __init__(self, *, action: str | None, who: str | None, when: datetime | None, status: Status) -> None:
        super().__init__()
        self.action, self.who, self.when, self.status = action, who, when, status

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        if not self.who or not self.when:
            return str(_("Someone else changed this in the meantime."))
        when = _format_when(self.when)
        messages: dict[str, str] = {
            "submission.submit": _("Already submitted by %(who)s at %(when)s."),
            "submission.return": _("Already returned by %(who)s at %(when)s."),
            "submission.approve": _("Already approved by %(who)s at %(when)s."),
            "submission.reopen": _("Already reopened by %(who)s at %(when)s."),
            "submission.withdraw": _("Already withdrawn by %(who)s at %(when)s."),
            "submission.save": _("Saved by %(who)s at %(when)s."),
            "submission.respond": _("Responses recorded by %(who)s at %(when)s."),
        }
        template: str = messages.get(self.action or "", _("Changed by %(who)s at %(when)s."))
        return template % {"who": self.who, "when": when}


_format_when = locking.format_when


# The actions that tell who last changed a submission (the automatic capture's generic
# "submission.update" says nothing a user would recognise).
_NAMED_ACTIONS = (
    "submission.submit",
    "submission.return",
    "submission.approve",
    "submission.reopen",
    "submission.withdraw",
    "submission.save",
    "submission.respond",
)


def last_change(sub: Submission) -> WorkflowConflict:
    """Who did what to the submission last, and when — from the audit trail, else its columns."""
    row = db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.actor_name, AuditEvent.occurred_at)
        .where(
            AuditEvent.entity_type == Submission.__tablename__,
            AuditEvent.entity_id == str(sub.id),
            AuditEvent.action.in_(_NAMED_ACTIONS),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if row is not None:
        return WorkflowConflict(
            action=row.action, who=row.actor_name, when=row.occurred_at, status=sub.status
        )
    by_status: dict[Status, tuple[str, User | None, datetime | None]] = {
        Status.approved: ("submission.approve", sub.approved_by, sub.approved_at),
        Status.returned: ("submission.return", sub.returned_by, sub.returned_at),
        Status.submitted: ("submission.submit", sub.submitted_by, sub.submitted_at),
        Status.draft: ("submission.save", sub.last_edited_by, sub.last_edited_at or sub.updated_at),
    }
    action, user, when = by_status.get(sub.status, (None, None, None))
    return WorkflowConflict(
        action=action, who=user.display_name if user else None, when=when, status=sub.status
    )


def _conditional_update(
    sub: Submission, *, expected_status: Status, expected_version: int, values: dict[str, object]
) -> None:
    """The one UPDATE that changes a submission; refuses with a conflict when someone came first."""
    locking.claim(
        sub, expected_version, Submission.status == expected_status, values=values, conflict=last_change
    )
    db.session.refresh(sub)


def _check_version(sub: Submission, expected_version: int) -> None:
    locking.check(sub, expected_version, conflict=last_change)


def _stamps(action: Action, actor: User, now: datetime) -> dict[str, object]:
    if action is Action.submit:
        return {"submitted_at": now, "submitted_by_id": actor.id}
    if action is Action.return_:
        return {"returned_at": now, "returned_by_id": actor.id}
    if action is Action.approve:
        return {"approved_at": now, "approved_by_id": actor.id}
    if action is Action.reopen:
        # An approved submission always names its approver; a reopened one names nobody.
        return {"approved_at": None, "approved_by_id": None, "returned_at": now, "returned_by_id": actor.id}
    return {}


def transition(
    sub: Submission, action: Action, *, actor: User, expected_version: int, reason: str | None = None
) -> None:
    """Move `sub` along `action`, recording it in the audit trail. Flushes; the caller commits.

    Raises WorkflowConflict when the submission changed since `expected_version`, and
    WorkflowError when the action does not apply to its current state.
    """
    _check_version(sub, expected_version)
    target = SUBMISSION.target(sub.status, action)
    now = utcnow()
    values = {"status": target, "updated_at": now, **_stamps(action, actor, now)}
    before = {"status": sub.status, "version": sub.version} | {
        key: getattr(sub, key) for key in values if key not in ("status", "updated_at")
    }
    _conditional_update(sub, expected_status=sub.status, expected_version=expected_version, values=values)
    after = {"status": sub.status, "version": sub.version} | {
        key: getattr(sub, key) for key in values if key not in ("status", "updated_at")
    }
    audit.record(
        db.session(),
        f"submission.{action.value}",
        actor=actor,
        target=sub,
        reason=reason,
        before=before,
        after=after,
    )


def check_editable(sub: Submission, allowed_states: frozenset[Status] = EDITABLE) -> None:
    """Refuse (409) an edit that the submission's state does not allow, saying why."""
    if sub.status not in allowed_states:
        raise WorkflowError(
            _("This submission cannot be changed while it is %(status)s.", status=status_label(sub.status))
        )


def claim_edit(
    sub: Submission,
    *,
    actor: User,
    expected_version: int,
    allowed_states: frozenset[Status] = EDITABLE,
    values: dict[str, object] | None = None,
    touch_editor: bool = True,
) -> None:
    """Take the optimistic lock for an edit: bumps the version if nobody saved in between.

    Call it before changing anything else in the session, so that a losing request has written
    nothing. `values` are further columns of the submission to set in the same UPDATE;
    `touch_editor` False for changes that are not the organisation's words (ILO responses).
    """
    _check_version(sub, expected_version)
    check_editable(sub, allowed_states)
    _conditional_update(
        sub,
        expected_status=sub.status,
        expected_version=expected_version,
        values={
            "updated_at": utcnow(),
            **({"last_edited_by_id": actor.id, "last_edited_at": utcnow()} if touch_editor else {}),
            **(values or {}),
        },
    )
