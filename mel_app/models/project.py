"""Projects, who takes part in them, and their reporting periods."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mel_app.models.base import (
    Base,
    FundingModality,
    Phase,
    Role,
    TagScheme,
    TimestampMixin,
    Versioned,
    str_enum,
)

if TYPE_CHECKING:
    from mel_app.models.framework import Result
    from mel_app.models.user import Organisation, User

# ILO development cooperation symbols: region or country / two-digit year / serial / donor,
# e.g. RAF/22/11/NOR (Africa, 2022, serial 11, Norway) or RAF/04/M55/NET.
ILO_REFERENCE_RE = re.compile(r"^[A-Z]{3}/\d{2}/(?:\d{2,3}|[A-Z]\d{2,3})/[A-Z]{3}$")


def is_valid_reference(reference: str) -> bool:
    return bool(ILO_REFERENCE_RE.fullmatch(reference or ""))


class Project(Versioned, TimestampMixin, Base):
    __tablename__ = "project"
    __audit_project__ = "id"
    __audited__ = True
    __table_args__ = (
        sa.CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date > start_date", name="dates"),
        sa.CheckConstraint("framework_approved = (framework_approved_at IS NOT NULL)", name="fw_approved_at"),
        # A planned budget is an amount in a currency: one without the other means nothing.
        sa.CheckConstraint("(budget_amount IS NULL) = (budget_currency IS NULL)", name="budget_currency"),
        sa.CheckConstraint("budget_amount IS NULL OR budget_amount > 0", name="budget_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    donor: Mapped[str] = mapped_column(sa.String(200), default="")
    funding_modality: Mapped[FundingModality] = mapped_column(str_enum(FundingModality, 10))
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    phase: Mapped[Phase] = mapped_column(str_enum(Phase), default=Phase.design, index=True)
    framework_approved: Mapped[bool] = mapped_column(default=False)
    framework_approved_at: Mapped[datetime | None]
    # Planned budget for the whole project (IATI `budget`, spread over its years in the export).
    budget_amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(16, 2))
    budget_currency: Mapped[str | None] = mapped_column(sa.String(3))
    # The funding organisation's IATI identifier and OrganisationType code, where known.
    donor_iati_ref: Mapped[str | None] = mapped_column(sa.String(100))
    donor_iati_type: Mapped[str | None] = mapped_column(sa.String(2))
    # Days before a report's due date its reporters are reminded, e.g. "14,3"; NULL: the default
    # (NOTIFY_REPORT_REMINDER_DAYS). See mel_app/notifications/reminders.py.
    report_reminder_days: Mapped[str | None] = mapped_column(sa.String(40))
    # When the project's specialists opened its dashboard to the public (approved figures and
    # closed evaluations only, see mel_app/public/); NULL: members only.
    published_at: Mapped[datetime | None] = mapped_column()

    countries: Mapped[list[ProjectCountry]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProjectCountry.country"
    )
    memberships: Mapped[list[Membership]] = relationship(back_populates="project")
    partners: Mapped[list[Partner]] = relationship(back_populates="project")
    periods: Mapped[list[ReportingPeriod]] = relationship(
        back_populates="project", order_by="ReportingPeriod.start_date"
    )
    results: Mapped[list[Result]] = relationship(back_populates="project", order_by="Result.position")
    sectors: Mapped[list[ProjectSector]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProjectSector.code"
    )
    tags: Mapped[list[ProjectTag]] = relationship(
        back_populates="project",
        cascade="all, delete-orphan",
        order_by="(ProjectTag.scheme, ProjectTag.code)",
    )

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.reference}>"

    @property
    def country_codes(self) -> list[str]:
        return [c.country for c in self.countries]


class ProjectCountry(Base):
    __tablename__ = "project_country"
    __audited__ = True
    __table_args__ = (
        sa.CheckConstraint("length(country) = 2", name="country_alpha2"),
        sa.CheckConstraint("percentage IS NULL OR (percentage > 0 AND percentage <= 100)", name="percentage"),
    )

    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id"), primary_key=True)
    country: Mapped[str] = mapped_column(sa.String(2), primary_key=True, index=True)
    # The country's share of the project; NULL on every country of a project means an even split.
    percentage: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))

    project: Mapped[Project] = relationship(back_populates="countries")


class ProjectSector(Base):
    """An OECD DAC CRS purpose code (IATI sector vocabulary 1) the project works in, with its share."""

    __tablename__ = "project_sector"
    __audited__ = True
    __table_args__ = (
        sa.CheckConstraint("length(code) = 5", name="code_five_digits"),
        sa.CheckConstraint("percentage > 0 AND percentage <= 100", name="percentage"),
    )

    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id"), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(5), primary_key=True)
    percentage: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))

    project: Mapped[Project] = relationship(back_populates="sectors")


class ProjectTag(Base):
    """One of the ILO's own terms the project serves: a DWCP outcome, a P&B outcome or an SDG target.

    One row per (project, scheme, code), the codes checked against mel_app/projects/ilo_terms.py;
    indexed by (scheme, code) so that the portfolio rolls up by tag in one query.
    """

    __tablename__ = "project_tag"
    __audited__ = True
    __table_args__ = (sa.Index("ix_project_tag_scheme_code", "scheme", "code"),)

    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id"), primary_key=True)
    scheme: Mapped[TagScheme] = mapped_column(str_enum(TagScheme, 4), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(10), primary_key=True)

    project: Mapped[Project] = relationship(back_populates="tags")


class Membership(TimestampMixin, Base):
    """A user's role in a project. Reporters report for one organisation."""

    __tablename__ = "membership"
    __audited__ = True
    __table_args__ = (
        sa.UniqueConstraint("user_id", "project_id", "role"),
        sa.CheckConstraint(
            "(role = 'reporter') = (organisation_id IS NOT NULL)", name="reporter_has_organisation"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"), index=True)

    user: Mapped[User] = relationship(back_populates="memberships")
    project: Mapped[Project] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation | None] = relationship()


class Partner(TimestampMixin, Base):
    """An organisation taking part in a project."""

    __tablename__ = "partner"
    __audited__ = True
    __table_args__ = (sa.UniqueConstraint("project_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)

    project: Mapped[Project] = relationship(back_populates="partners")
    organisation: Mapped[Organisation] = relationship()


class ReportingPeriod(Versioned, TimestampMixin, Base):
    __tablename__ = "reporting_period"
    __audited__ = True
    __table_args__ = (
        sa.UniqueConstraint("project_id", "label"),
        sa.CheckConstraint("end_date >= start_date", name="dates"),
        sa.CheckConstraint("due_date >= end_date", name="due_after_end"),
        sa.Index("ix_reporting_period_project_start", "project_id", "start_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("project.id"))
    label: Mapped[str] = mapped_column(sa.String(40))
    start_date: Mapped[date]
    end_date: Mapped[date]
    due_date: Mapped[date] = mapped_column(index=True)

    project: Mapped[Project] = relationship(back_populates="periods")
