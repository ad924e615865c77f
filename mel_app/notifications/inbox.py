"""Each person's own notifications: the unread count, the list, following one, marking all read.

A notification belongs to its recipient alone: every query here is narrowed to that person.
"""

from __future__ import annotations

import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import Notification, User, utcnow


def unread_count(user: User) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(Notification.id)).where(
                Notification.recipient_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def newest_first(user: User) -> sa.Select[tuple[Notification]]:
    return (
        sa.select(Notification).where(Notification.recipient_id == user.id).order_by(Notification.id.desc())
    )


def own(user: User, notification_id: int) -> Notification | None:
    """The notification if `user` received it; None for anyone else, as if it did not exist."""
    note = db.session.get(Notification, notification_id)
    return note if note is not None and note.recipient_id == user.id else None


def mark_read(note: Notification) -> None:
    if note.read_at is None:
        note.read_at = utcnow()


def mark_all_read(user: User) -> None:
    db.session.execute(
        sa.update(Notification)
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )


def active_user(user_id: int) -> User | None:
    user = db.session.get(User, user_id)
    return user if user is not None and user.is_active else None
