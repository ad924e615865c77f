"""Participatory evaluations: criteria, scales, scorecards and recommendations."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mel_app.models.base import (
    ActionStatus,
    Base,
    EvaluationKind,
    EvaluationStatus,
    ResponseKind,
    ScorecardStatus,
    ScorerGroup,
    TimestampMixin,
    Versioned,
    str_enum,
    utcnow,
)

if TYPE_CHECKING:
    from mel_app.models.project import Project
    from mel_app.models.user import Organisation, User


class CriteriaSet(Versioned, TimestampMixin, Base):
    __tablename__ = "criteria_set"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    is_default: Mapped[bool] = mapped_column(default=False)

    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="criteria_set", order_by="Criterion.position"
    )


class Criterion(TimestampMixin, Base):
    __tablename__ = "criterion"
    __audited__ = True
    __table_args__ = (sa.UniqueConstraint("criteria_set_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    criteria_set_id: Mapped[int] = mapped_column(sa.ForeignKey("criteria_set.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    guiding_question: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    criteria_set: Mapped[CriteriaSet] = relationship(back_populates="criteria")


class Scale(Versioned, TimestampMixin, Base):
    __tablename__ = "scale"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    is_default: Mapped[bool] = mapped_column(default=False)

    points: Mapped[list[ScalePoint]] = relationship(back_populates="scale", order_by="ScalePoint.value")


class ScalePoint(Base):
    __tablename__ = "scale_point"
    __audited__ = True
    __table_args__ = (
        sa.UniqueConstraint("scale_id", "value"),
        sa.CheckConstraint("value BETWEEN 1 AND 10", name="value_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scale_id: Mapped[int] = mapped_column(sa.ForeignKey("scale.id"), index=True)
    value: Mapped[int]
    label: Mapped[str] = mapped_column(sa.String(100))
    rubric: Mapped[str] = mapped_column(sa.Text, default="")

    scale: Mapped[Scale] = relationship(back_populates="points")


class Evaluation(TimestampMixin, Base):
    __tablename__ = "evaluation"
    __audited__ = True
    __table_args__ = (
        sa.CheckConstraint(
            "(status = 'closed') = (closed_at IS NOT NULL AND closed_by_id IS NOT NULL)",
            name="closer_iff_closed",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id"), index=True)
    kind: Mapped[EvaluationKind] = mapped_column(str_enum(EvaluationKind))
    title: Mapped[str] = mapped_column(sa.String(300))
    criteria_set_id: Mapped[int] = mapped_column(sa.ForeignKey("criteria_set.id"), index=True)
    scale_id: Mapped[int] = mapped_column(sa.ForeignKey("scale.id"), index=True)
    status: Mapped[EvaluationStatus] = mapped_column(
        str_enum(EvaluationStatus), default=EvaluationStatus.open
    )
    deadline: Mapped[date | None]
    version: Mapped[int] = mapped_column(default=1)
    opened_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    closed_at: Mapped[datetime | None]

    project: Mapped[Project] = relationship()
    criteria_set: Mapped[CriteriaSet] = relationship()
    scale: Mapped[Scale] = relationship()
    opened_by: Mapped[User] = relationship(foreign_keys=[opened_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    scorecards: Mapped[list[Scorecard]] = relationship(back_populates="evaluation")
    recommendations: Mapped[list[Recommendation]] = relationship(
        back_populates="evaluation", order_by="Recommendation.position"
    )


class Scorecard(TimestampMixin, Base):
    """One invited person's judgement of an evaluation, one score per criterion."""

    __tablename__ = "scorecard"
    __audit_project__ = "evaluation.project_id"
    __audited__ = True
    __table_args__ = (
        sa.UniqueConstraint("evaluation_id", "scorer_id"),
        sa.CheckConstraint(
            "(status = 'submitted') = (submitted_at IS NOT NULL)", name="submitted_at_iff_submitted"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation.id"), index=True)
    scorer_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    group: Mapped[ScorerGroup] = mapped_column(str_enum(ScorerGroup))
    status: Mapped[ScorecardStatus] = mapped_column(str_enum(ScorecardStatus), default=ScorecardStatus.draft)
    version: Mapped[int] = mapped_column(default=1)
    submitted_at: Mapped[datetime | None]

    evaluation: Mapped[Evaluation] = relationship(back_populates="scorecards")
    scorer: Mapped[User] = relationship()
    scores: Mapped[list[Score]] = relationship(back_populates="scorecard")


class Score(TimestampMixin, Base):
    __tablename__ = "score"
    __audit_project__ = "scorecard.evaluation.project_id"
    __audited__ = True
    __table_args__ = (
        sa.UniqueConstraint("scorecard_id", "criterion_id"),
        sa.CheckConstraint("NOT (cannot_assess AND point IS NOT NULL)", name="point_or_cannot_assess"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(sa.ForeignKey("scorecard.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("criterion.id"), index=True)
    point: Mapped[int | None]
    cannot_assess: Mapped[bool] = mapped_column(default=False)
    justification: Mapped[str] = mapped_column(sa.Text, default="")
    # References to indicators or approved reports offered as evidence: [{"type": ..., "id": ...}].
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)

    scorecard: Mapped[Scorecard] = relationship(back_populates="scores")
    criterion: Mapped[Criterion] = relationship()


class Recommendation(Versioned, TimestampMixin, Base):
    """An evaluation's recommendation and the management response, as the ILO publishes them."""

    __tablename__ = "recommendation"
    __audit_project__ = "evaluation.project_id"
    __audited__ = True
    __table_args__ = (
        sa.CheckConstraint("response IS NULL OR responded_by_id IS NOT NULL", name="response_has_author"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(sa.Text)
    # To whom it is addressed: one of the project's partner organisations (whose reporters are
    # told, and reminded of the planned action), and/or free text for others ("ILO", "donor").
    addressed_to: Mapped[str] = mapped_column(sa.String(300), default="")
    addressed_organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id"), index=True
    )
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    response: Mapped[ResponseKind | None] = mapped_column(str_enum(ResponseKind, 30))
    planned_action: Mapped[str] = mapped_column(sa.Text, default="")
    due_date: Mapped[date | None]
    action_status: Mapped[ActionStatus | None] = mapped_column(str_enum(ActionStatus, 30))
    responded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    responded_at: Mapped[datetime | None]

    evaluation: Mapped[Evaluation] = relationship(back_populates="recommendations")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    responded_by: Mapped[User | None] = relationship(foreign_keys=[responded_by_id])
    addressed_organisation: Mapped[Organisation | None] = relationship()

    @property
    def addressees(self) -> list[str]:
        """To whom it is addressed, as people read it: the partner organisation, then the text."""
        names = [self.addressed_organisation.label] if self.addressed_organisation is not None else []
        return names + ([self.addressed_to] if self.addressed_to else [])
