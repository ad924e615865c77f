"""The results framework (logframe): results and their indicators.

Field names follow the IATI activity standard's result / indicator / baseline / target elements,
so that an IATI export is a mapping and not a rewrite.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mel_app.models.base import (
    DEFAULT_AGGREGATION,
    Aggregation,
    Base,
    Measure,
    ResultType,
    TagScheme,
    TimestampMixin,
    Versioned,
    str_enum,
    utcnow,
)

if TYPE_CHECKING:
    from sqlalchemy.engine.default import DefaultExecutionContext

    from mel_app.models.project import Project
    from mel_app.models.user import Organisation

# Numbers with four decimals cover counts, percentages and money-like values without float drift.
Amount = sa.Numeric(18, 4)


def _default_aggregation(context: DefaultExecutionContext) -> str:
    measure = Measure(context.get_current_parameters()["measure"])  # type: ignore[no-untyped-call]
    return DEFAULT_AGGREGATION[measure].value


class Result(Versioned, TimestampMixin, Base):
    __tablename__ = "result"
    __audited__ = True
    __table_args__ = (
        sa.UniqueConstraint("project_id", "code"),
        # Target of the indicator's composite key, which keeps indicator.project_id truthful.
        sa.UniqueConstraint("id", "project_id"),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id"), index=True)
    type: Mapped[ResultType] = mapped_column(str_enum(ResultType))
    code: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("result.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    is_archived: Mapped[bool] = mapped_column(default=False)

    project: Mapped[Project] = relationship(back_populates="results")
    parent: Mapped[Result | None] = relationship(remote_side=[id])
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="result", order_by="Indicator.position", foreign_keys="Indicator.result_id"
    )
    tags: Mapped[list[ResultTag]] = relationship(
        back_populates="result", cascade="all, delete-orphan", order_by="(ResultTag.scheme, ResultTag.code)"
    )


class ResultTag(Base):
    """One of the ILO's own terms a result serves (see ProjectTag): unique per result, scheme and code."""

    __tablename__ = "result_tag"
    __audited__ = True
    __audit_project__ = "result.project_id"
    __table_args__ = (sa.Index("ix_result_tag_scheme_code", "scheme", "code"),)

    result_id: Mapped[int] = mapped_column(sa.ForeignKey("result.id"), primary_key=True)
    scheme: Mapped[TagScheme] = mapped_column(str_enum(TagScheme, 4), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(10), primary_key=True)

    result: Mapped[Result] = relationship(back_populates="tags")


class Indicator(Versioned, TimestampMixin, Base):
    __tablename__ = "indicator"
    __audited__ = True
    __table_args__ = (
        sa.UniqueConstraint("result_id", "code"),
        sa.ForeignKeyConstraint(
            ["result_id", "project_id"],
            ["result.id", "result.project_id"],
            name="fk_indicator_result_project",
        ),
        sa.CheckConstraint(
            "measure <> 'percentage' OR ((baseline_value IS NULL OR baseline_value BETWEEN 0 AND 100)"
            " AND (target_value IS NULL OR target_value BETWEEN 0 AND 100))",
            name="percentage_range",
        ),
        sa.CheckConstraint(
            "measure <> 'yes_no' OR ((baseline_value IS NULL OR baseline_value IN (0, 1))"
            " AND (target_value IS NULL OR target_value IN (0, 1)))",
            name="yes_no_values",
        ),
        # The methods that make sense for each measure; mel_app.figures.METHODS says the same.
        sa.CheckConstraint(
            "(measure = 'number' AND aggregation IN ('sum', 'mean', 'responsible'))"
            " OR (measure = 'percentage' AND aggregation IN ('mean', 'responsible'))"
            " OR (measure = 'yes_no' AND aggregation IN ('all_yes', 'any_yes', 'responsible'))"
            " OR (measure = 'qualitative' AND aggregation = 'listed')",
            name="aggregation_fits_measure",
        ),
        sa.CheckConstraint(
            "aggregation <> 'responsible' OR responsible_organisation_id IS NOT NULL",
            name="aggregation_responsible",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(sa.ForeignKey("result.id"), index=True)
    # Denormalised from the result so that project-wide queries need no join.
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    measure: Mapped[Measure] = mapped_column(str_enum(Measure))
    # How the organisations' values of a period make the project's figure (see mel_app.figures).
    # Rows written without one get their measure's default, so no indicator is ever without a rule.
    aggregation: Mapped[Aggregation] = mapped_column(str_enum(Aggregation), default=_default_aggregation)
    unit: Mapped[str] = mapped_column(sa.String(60), default="")
    ascending: Mapped[bool] = mapped_column(default=True)
    baseline_value: Mapped[Decimal | None] = mapped_column(Amount)
    baseline_date: Mapped[date | None]
    baseline_comment: Mapped[str] = mapped_column(sa.Text, default="")
    target_value: Mapped[Decimal | None] = mapped_column(Amount)
    target_date: Mapped[date | None]
    target_comment: Mapped[str] = mapped_column(sa.Text, default="")
    disaggregate_by_sex: Mapped[bool] = mapped_column(default=False)
    means_of_verification: Mapped[str] = mapped_column(sa.Text, default="")
    responsible_organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    position: Mapped[int] = mapped_column(default=0)
    is_archived: Mapped[bool] = mapped_column(default=False)

    result: Mapped[Result] = relationship(back_populates="indicators", foreign_keys=[result_id])
    project: Mapped[Project] = relationship(foreign_keys=[project_id])
    responsible_organisation: Mapped[Organisation | None] = relationship()


class FrameworkImport(Base):
    """An uploaded framework spreadsheet between its preview and its confirmation.

    The file is kept in the database (not on one server's disk or in the session cookie), so the
    confirmation may reach any app server. It is deleted once applied; older uploads of the same
    person are discarded at their next upload.
    """

    __tablename__ = "framework_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    file_format: Mapped[str] = mapped_column(sa.String(10))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
