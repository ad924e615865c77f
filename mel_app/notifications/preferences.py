"""Each person's choice per kind of notification: immediately, in a daily digest, or not at all.

No row means immediately. Security e-mails (invitations, password resets) are not notifications
and are always sent. Changes are audited automatically (NotificationPreference is audited).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from mel_app import audit
from mel_app.extensions import db
from mel_app.models import DeliveryMode, NotificationKind, NotificationPreference, User
from mel_app.notifications import compose

# What people read on their preferences page, in this order.
KIND_LABELS = {
    NotificationKind.submission_submitted: _l("A report or design input is submitted for review"),
    NotificationKind.submission_returned: _l("My organisation's report is returned for changes"),
    NotificationKind.submission_approved: _l("My organisation's report is approved"),
    NotificationKind.submission_reopened: _l("My organisation's report is reopened"),
    NotificationKind.comment_shared: _l("A new comment on a report"),
    NotificationKind.design_responses: _l("The ILO responds to our design input"),
    NotificationKind.scorecard_invited: _l("I am invited to score an evaluation"),
    NotificationKind.scorecard_reopened: _l("My scorecard is reopened"),
    NotificationKind.evaluation_closed: _l("An evaluation I took part in is closed"),
    NotificationKind.recommendation_added: _l("A recommendation needs a management response"),
    NotificationKind.recommendation_addressed: _l("A recommendation is addressed to my organisation"),
    NotificationKind.round_invited: _l("I am invited to choose the most significant change"),
    NotificationKind.response_due: _l("Reminders: a planned action is due or overdue"),
    NotificationKind.report_due: _l("Reminders: a report is due or overdue"),
    NotificationKind.scorecard_due: _l("Reminders: my scorecard's deadline is near"),
    NotificationKind.review_digest: _l("Weekly summary of reports awaiting review"),
}

MODE_LABELS = {
    DeliveryMode.immediate: _l("E-mail at once"),
    DeliveryMode.digest: _l("Daily digest"),
    DeliveryMode.off: _l("No e-mail"),
}


def modes(user: User) -> dict[NotificationKind, DeliveryMode]:
    chosen = dict(
        db.session.execute(
            sa.select(NotificationPreference.kind, NotificationPreference.mode).where(
                NotificationPreference.user_id == user.id
            )
        ).all()
    )
    return {kind: chosen.get(kind, DeliveryMode.immediate) for kind in KIND_LABELS}


def mode_for(user: User, kind: NotificationKind) -> DeliveryMode:
    mode = db.session.scalar(
        sa.select(NotificationPreference.mode).where(
            NotificationPreference.user_id == user.id, NotificationPreference.kind == kind
        )
    )
    return mode or DeliveryMode.immediate


def set_mode(user: User, kind: NotificationKind, mode: DeliveryMode) -> bool:
    """Record the choice (audited); returns whether it changed."""
    row = db.session.scalar(
        sa.select(NotificationPreference).where(
            NotificationPreference.user_id == user.id, NotificationPreference.kind == kind
        )
    )
    if row is None:
        if mode is DeliveryMode.immediate:
            return False
        db.session.add(NotificationPreference(user_id=user.id, kind=kind, mode=mode))
        return True
    if row.mode is mode:
        return False
    row.mode = mode
    return True


def unsubscribe(user: User, kind: str, *, remote_addr: str | None) -> None:
    """The signed link of an e-mail: no more e-mail of that kind (`kind`), or of every kind the
    person gets in the digest (`compose.DIGEST`). Recorded as the person the link was sent to:
    only they received the signed link."""
    audit.set_actor(db.session(), audit.actor_of(user, remote_addr))
    kinds = (
        [k for k, mode in modes(user).items() if mode is DeliveryMode.digest]
        if kind == compose.DIGEST
        else [NotificationKind(kind)]
    )
    for each in kinds:
        set_mode(user, each, DeliveryMode.off)
