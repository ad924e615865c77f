"""Notifications in the app, the outgoing-mail outbox, and each person's choices of what to receive."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mel_app.models.base import Base, str_enum, utcnow
from mel_app.models.user import User

NotificationKind = enum.StrEnum(
    "NotificationKind",
    [
        "submission_submitted",
        "submission_returned",
        "submission_approved",
        "submission_reopened",
        "comment_shared",
        "design_responses",
        "scorecard_invited",
        "scorecard_reopened",
        "evaluation_closed",
        "recommendation_added",
        "recommendation_addressed",
        "round_invited",
        "response_due",
        "report_due",
        "scorecard_due",
        "review_digest",
    ],
)

DeliveryMode = enum.StrEnum("DeliveryMode", ["immediate", "digest", "off"])

OutboxStatus = enum.StrEnum("OutboxStatus", ["queued", "sending", "sent", "failed"])


class Notification(Base):
    """What one person is told, in the app: written with the change that causes it."""

    __tablename__ = "notification"
    __table_args__ = (
        # One notification per event and recipient, however often the event's code runs.
        sa.UniqueConstraint("recipient_id", "event_key"),
        sa.Index("ix_notification_recipient_read", "recipient_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, 40))
    event_key: Mapped[str] = mapped_column(sa.String(200))
    # The thing it is about, e.g. ("submission", "12"), and the page that shows it.
    subject_type: Mapped[str | None] = mapped_column(sa.String(40))
    subject_id: Mapped[str | None] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(500))
    link: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # Waiting for the recipient's daily digest (their choice for this kind).
    digest_pending: Mapped[bool] = mapped_column(default=False, index=True)

    recipient: Mapped[User] = relationship()


class NotificationPreference(Base):
    """How a person wants one kind of notification by e-mail (no row: immediately)."""

    __tablename__ = "notification_preference"
    __audited__ = True
    __table_args__ = (sa.UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, 40))
    mode: Mapped[DeliveryMode] = mapped_column(str_enum(DeliveryMode, 10), default=DeliveryMode.immediate)


class OutboxMessage(Base):
    """An e-mail to send, written in the transaction of the change that causes it.

    The worker claims rows (status `sending`, `claimed_by`, `claimed_until`), sends them and marks
    them sent; a row whose claim has lapsed (its worker died) is claimed again. The idempotency
    key is unique, so an event recorded twice queues one message; the Message-ID is derived from it.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    recipient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    to_address: Mapped[str] = mapped_column(sa.String(254))
    language: Mapped[str] = mapped_column(sa.String(5))
    subject: Mapped[str] = mapped_column(sa.String(500))
    text_body: Mapped[str] = mapped_column(sa.Text)
    html_body: Mapped[str] = mapped_column(sa.Text)
    headers: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus, 10), default=OutboxStatus.queued)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]

    recipient: Mapped[User | None] = relationship()
