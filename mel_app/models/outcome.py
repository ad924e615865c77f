"""Outcome harvesting: the outcome statements of a project.

An outcome statement says who changed (a social actor), what changed in their behaviour,
relationships, actions, policies or practice, when and where, why it matters and how the project
contributed, and which of the project's partner organisations contributed. It may match a result
of the project's framework or stand on its own; unexpected and negative outcomes are flagged.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mel_app.models.base import Base, TimestampMixin, Versioned, str_enum, utcnow

if TYPE_CHECKING:
    from mel_app.models.framework import Result
    from mel_app.models.project import Project
    from mel_app.models.user import Organisation, User


class OutcomeStatement(Versioned, TimestampMixin, Base):
    __tablename__ = "outcome_statement"
    __audited__ = True
    __table_args__ = (
        # A linked result is one of the same project's results.
        sa.ForeignKeyConstraint(
            ["result_id", "project_id"],
            ["result.id", "result.project_id"],
            name="fk_outcome_statement_result_project",
        ),
        sa.Index("ix_outcome_statement_project_changed", "project_id", "changed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id"))
    social_actor: Mapped[str] = mapped_column(sa.String(300))
    change: Mapped[str] = mapped_column(sa.Text)
    # When the change happened; with `month_only` only its month and year are known (the day is 1).
    changed_on: Mapped[date]
    month_only: Mapped[bool] = mapped_column(default=False)
    place: Mapped[str] = mapped_column(sa.String(300), default="")
    significance: Mapped[str] = mapped_column(sa.Text, default="")
    contribution: Mapped[str] = mapped_column(sa.Text, default="")
    result_id: Mapped[int | None] = mapped_column(index=True)
    unexpected: Mapped[bool] = mapped_column(default=False)
    negative: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)

    project: Mapped[Project] = relationship()
    result: Mapped[Result | None] = relationship(overlaps="project")
    recorded_by: Mapped[User | None] = relationship()
    contributors: Mapped[list[OutcomeContributor]] = relationship(
        back_populates="outcome", cascade="all, delete-orphan", order_by="OutcomeContributor.organisation_id"
    )
    substantiations: Mapped[list[OutcomeSubstantiation]] = relationship(
        back_populates="outcome", order_by="OutcomeSubstantiation.id"
    )


class OutcomeContributor(Base):
    """A partner organisation of the project that contributed to an outcome."""

    __tablename__ = "outcome_contributor"
    __audited__ = True
    __audit_project__ = "outcome.project_id"

    outcome_id: Mapped[int] = mapped_column(sa.ForeignKey("outcome_statement.id"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisation.id"), primary_key=True, index=True
    )

    outcome: Mapped[OutcomeStatement] = relationship(back_populates="contributors")
    organisation: Mapped[Organisation] = relationship()


class SubstantiationVerdict(enum.StrEnum):
    """Whether the person asked agrees with the outcome statement."""

    fully = "fully"
    partly = "partly"
    not_at_all = "not"


class OutcomeSubstantiation(Base):
    """Substantiation: a knowledgeable, independent person without an account is asked by e-mail
    whether they agree with an outcome statement, and answers through a single-use link.

    The link's token is kept only as its SHA-256 (`token_hash`, never in the audit trail). A
    request is waiting until it is answered (`answered_at`), withdrawn (`withdrawn_at`) or past
    `expires_at`; a new request to the same address for the same statement withdraws the earlier one.
    """

    __tablename__ = "outcome_substantiation"
    __audited__ = True
    __audit_project__ = "outcome.project_id"
    __audit_exclude__ = frozenset({"token_hash"})
    __table_args__ = (sa.Index("ix_outcome_substantiation_outcome_email", "outcome_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outcome_id: Mapped[int] = mapped_column(sa.ForeignKey("outcome_statement.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254))
    language: Mapped[str] = mapped_column(sa.String(5))
    message: Mapped[str] = mapped_column(sa.Text, default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    verdict: Mapped[SubstantiationVerdict | None] = mapped_column(str_enum(SubstantiationVerdict, 10))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    withdrawn_at: Mapped[datetime | None]

    outcome: Mapped[OutcomeStatement] = relationship(back_populates="substantiations")
    requested_by: Mapped[User | None] = relationship()
