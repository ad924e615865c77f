"""What constituents submit: design input and progress reports, their versions and evidence."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from mel_app.models.base import (
    Base,
    DesignItemKind,
    Disposition,
    Status,
    SubmissionKind,
    TimestampMixin,
    Visibility,
    str_enum,
    utcnow,
)
from mel_app.models.framework import Amount

if TYPE_CHECKING:
    from mel_app.models.framework import Indicator, Result
    from mel_app.models.project import Project, ReportingPeriod
    from mel_app.models.user import Organisation, User

NARRATIVE_SECTIONS = (
    "achievements",
    "challenges",
    "lessons_learned",
    "next_steps",
    "gender_equality",
    "social_dialogue",
)

_LIVE = "status <> 'withdrawn'"


class Submission(TimestampMixin, Base):
    __tablename__ = "submission"
    __audited__ = True
    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'progress_report') = (period_id IS NOT NULL)", name="period_iff_progress_report"
        ),
        # An approved submission always says who approved it and when.
        sa.CheckConstraint(
            "(status = 'approved') = (approved_by_id IS NOT NULL AND approved_at IS NOT NULL)",
            name="approver_iff_approved",
        ),
        sa.CheckConstraint(
            "status NOT IN ('submitted', 'approved') OR submitted_at IS NOT NULL", name="submitted_at_set"
        ),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        # One live progress report per project, period and organisation; one live design input
        # per project and organisation. A withdrawn one does not block starting again.
        sa.Index(
            "uq_submission_report",
            "project_id",
            "period_id",
            "organisation_id",
            unique=True,
            postgresql_where=sa.text(f"kind = 'progress_report' AND {_LIVE}"),
            sqlite_where=sa.text(f"kind = 'progress_report' AND {_LIVE}"),
        ),
        sa.Index(
            "uq_submission_design_input",
            "project_id",
            "organisation_id",
            unique=True,
            postgresql_where=sa.text(f"kind = 'design_input' AND {_LIVE}"),
            sqlite_where=sa.text(f"kind = 'design_input' AND {_LIVE}"),
        ),
        sa.Index("ix_submission_status_submitted_at", "status", "submitted_at"),
        sa.Index("ix_submission_project_status", "project_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id"))
    kind: Mapped[SubmissionKind] = mapped_column(str_enum(SubmissionKind))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    period_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reporting_period.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    status: Mapped[Status] = mapped_column(str_enum(Status), default=Status.draft)
    # Optimistic lock: every edit and transition names the version it saw.
    version: Mapped[int] = mapped_column(default=1)
    narrative: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    returned_at: Mapped[datetime | None]
    returned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    last_edited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # When the organisation's words last changed: `updated_at` also moves on every transition (a
    # return, an approval), which "Last saved" must not credit to the last editor.
    last_edited_at: Mapped[datetime | None] = mapped_column(default=utcnow)

    project: Mapped[Project] = relationship()
    organisation: Mapped[Organisation] = relationship()
    period: Mapped[ReportingPeriod | None] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    returned_by: Mapped[User | None] = relationship(foreign_keys=[returned_by_id])
    last_edited_by: Mapped[User | None] = relationship(foreign_keys=[last_edited_by_id])
    values: Mapped[list[IndicatorValue]] = relationship(back_populates="submission")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="submission", order_by="Attachment.id"
    )
    design_items: Mapped[list[DesignInputItem]] = relationship(
        back_populates="submission", order_by="DesignInputItem.position"
    )
    comments: Mapped[list[Comment]] = relationship(back_populates="submission", order_by="Comment.id")
    versions: Mapped[list[SubmissionVersion]] = relationship(
        back_populates="submission", order_by="SubmissionVersion.number"
    )

    def __repr__(self) -> str:
        return f"<Submission {self.id} {self.kind} {self.status}>"


class SubmissionVersion(Base):
    """An immutable snapshot written at every submit, so reviewers can compare version N with N-1."""

    __tablename__ = "submission_version"
    __audit_project__ = "submission.project_id"
    __audited__ = True
    __table_args__ = (sa.UniqueConstraint("submission_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submission.id"), index=True)
    number: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    submitted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="versions")
    submitted_by: Mapped[User] = relationship()


class IndicatorValue(TimestampMixin, Base):
    __tablename__ = "indicator_value"
    __audit_project__ = "submission.project_id"
    __audited__ = True
    __table_args__ = (
        sa.UniqueConstraint("submission_id", "indicator_id"),
        sa.CheckConstraint("women IS NULL OR women >= 0", name="women_non_negative"),
        sa.CheckConstraint("men IS NULL OR men >= 0", name="men_non_negative"),
        sa.CheckConstraint(
            "value IS NULL OR women IS NULL OR men IS NULL OR value = women + men", name="sex_sum"
        ),
        sa.CheckConstraint(
            "NOT not_reported OR (value IS NULL AND women IS NULL AND men IS NULL)",
            name="not_reported_is_empty",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submission.id"), index=True)
    indicator_id: Mapped[int] = mapped_column(sa.ForeignKey("indicator.id"), index=True)
    value: Mapped[Decimal | None] = mapped_column(Amount)
    women: Mapped[Decimal | None] = mapped_column(Amount)
    men: Mapped[Decimal | None] = mapped_column(Amount)
    text_value: Mapped[str] = mapped_column(sa.Text, default="")
    not_reported: Mapped[bool] = mapped_column(default=False)
    comment: Mapped[str] = mapped_column(sa.Text, default="")

    submission: Mapped[Submission] = relationship(back_populates="values")
    indicator: Mapped[Indicator] = relationship()


class Attachment(Base):
    """An evidence file, kept in the database so backups and multi-server deployments need nothing else."""

    __tablename__ = "attachment"
    __audit_project__ = "submission.project_id"
    __audited__ = True
    __audit_exclude__ = frozenset({"data"})
    __table_args__ = (sa.CheckConstraint("size >= 0", name="size_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submission.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    media_type: Mapped[str] = mapped_column(sa.String(120))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary))
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_deleted: Mapped[bool] = mapped_column(default=False)

    submission: Mapped[Submission] = relationship(back_populates="attachments")
    uploaded_by: Mapped[User] = relationship()


class DesignInputItem(TimestampMixin, Base):
    """One point of a constituent's design input, and the ILO's recorded response to it."""

    __tablename__ = "design_input_item"
    __audit_project__ = "submission.project_id"
    __audited__ = True
    __table_args__ = (
        sa.CheckConstraint(
            "disposition IS NULL OR (length(response_reason) > 0 AND responded_by_id IS NOT NULL)",
            name="response_has_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submission.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[DesignItemKind] = mapped_column(str_enum(DesignItemKind, 30))
    text: Mapped[str] = mapped_column(sa.Text)
    result_id: Mapped[int | None] = mapped_column(sa.ForeignKey("result.id"))
    indicator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("indicator.id"))
    disposition: Mapped[Disposition | None] = mapped_column(str_enum(Disposition, 30))
    response_reason: Mapped[str] = mapped_column(sa.Text, default="")
    responded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    responded_at: Mapped[datetime | None]

    submission: Mapped[Submission] = relationship(back_populates="design_items")
    result: Mapped[Result | None] = relationship()
    indicator: Mapped[Indicator | None] = relationship()
    responded_by: Mapped[User | None] = relationship()


class Comment(Base):
    __tablename__ = "comment"
    __audit_project__ = "submission.project_id"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submission.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    section: Mapped[str | None] = mapped_column(sa.String(60))
    visibility: Mapped[Visibility] = mapped_column(str_enum(Visibility), default=Visibility.shared)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="comments")
    author: Mapped[User] = relationship()
