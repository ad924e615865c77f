"""Reporting periods: added one by one or generated as a series between the project's dates.

Series follow the calendar (quarters, half-years, years), clipped to the project's start and end,
so that every project's "2026 H1" means the same months.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from mel_app import audit
from mel_app.dates import format_date
from mel_app.extensions import db
from mel_app.kit.errors import DomainError
from mel_app.models import Project, ReportingPeriod, Submission
from mel_app.uniqueness import retry_on_duplicate

LABEL_MAX = 40


class Frequency(enum.StrEnum):
    quarterly = "quarterly"
    half_yearly = "half_yearly"
    yearly = "yearly"


MONTHS = {Frequency.quarterly: 3, Frequency.half_yearly: 6, Frequency.yearly: 12}


class PeriodError(DomainError):
    """A change to the periods the rules refuse; the message is for the user."""


@dataclass(frozen=True)
class PeriodSpec:
    label: str
    start_date: date
    end_date: date
    due_date: date


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def _label(start: date, frequency: Frequency) -> str:
    if frequency is Frequency.quarterly:
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    if frequency is Frequency.half_yearly:
        return f"{start.year} H{1 if start.month <= 6 else 2}"
    return str(start.year)


def period_series(start: date, end: date, frequency: Frequency, due_days: int) -> list[PeriodSpec]:
    """Calendar periods covering start..end (inclusive), clipped to them; due `due_days` after each end."""
    if end < start:
        return []
    months = MONTHS[frequency]
    # The calendar period containing `start`.
    cursor = date(start.year, ((start.month - 1) // months) * months + 1, 1)
    specs = []
    while cursor <= end:
        following = _add_months(cursor, months)
        period_start = max(cursor, start)
        period_end = min(following - timedelta(days=1), end)
        specs.append(
            PeriodSpec(
                label=_label(cursor, frequency),
                start_date=period_start,
                end_date=period_end,
                due_date=period_end + timedelta(days=due_days),
            )
        )
        cursor = following
    return specs


def _overlaps(a_start: date, a_end: date, b_start: date, b_end: date) -> bool:
    return a_start <= b_end and b_start <= a_end


def spec_errors(project: Project, spec: PeriodSpec, existing: list[ReportingPeriod]) -> dict[str, str]:
    errors: dict[str, str] = {}
    label = spec.label.strip()
    if not label:
        errors["label"] = _("Give the period a name, e.g. 2026 H1.")
    elif len(label) > LABEL_MAX:
        errors["label"] = _("At most %(n)s characters.", n=LABEL_MAX)
    elif any(p.label.casefold() == label.casefold() for p in existing):
        errors["label"] = _("Another period is called %(label)s.", label=label)
    if spec.end_date < spec.start_date:
        errors["end_date"] = _("The end cannot be before the start.")
    elif spec.due_date < spec.end_date:
        errors["due_date"] = _("Reports can only be due after the period ends.")
    if project.start_date and spec.start_date < project.start_date:
        errors["start_date"] = _("The project starts on %(day)s.", day=format_date(project.start_date))
    if project.end_date and spec.end_date > project.end_date:
        errors["end_date"] = _("The project ends on %(day)s.", day=format_date(project.end_date))
    if "end_date" not in errors:
        for other in existing:
            if _overlaps(spec.start_date, spec.end_date, other.start_date, other.end_date):
                errors["start_date"] = _("This overlaps the period %(label)s.", label=other.label)
                break
    return errors


def project_periods(project: Project) -> list[ReportingPeriod]:
    """The project's reporting periods, oldest first: the columns of its status grid, the choices
    of every form that names a period (stories, selection rounds), the checks of a new period."""
    return list(
        db.session.scalars(
            sa.select(ReportingPeriod)
            .where(ReportingPeriod.project_id == project.id)
            .order_by(ReportingPeriod.start_date, ReportingPeriod.id)
        )
    )


def report_counts(project: Project) -> dict[int, int]:
    """How many reports (and design input) each period of the project has, by period id."""
    rows = db.session.execute(
        sa.select(Submission.period_id, sa.func.count())
        .where(Submission.project_id == project.id, Submission.period_id.is_not(None))
        .group_by(Submission.period_id)
    ).all()
    return {period_id: count for period_id, count in rows}


@retry_on_duplicate
def add_period(project: Project, spec: PeriodSpec, *, actor: Any) -> ReportingPeriod:
    errors = spec_errors(project, spec, project_periods(project))
    if errors:
        raise PeriodError(" ".join(errors.values()))
    period = _new_period(project, spec.label.strip(), spec, "period.create", actor=actor)
    db.session.flush()
    return period


def _new_period(
    project: Project, label: str, spec: PeriodSpec, action: str, *, actor: Any
) -> ReportingPeriod:
    """Add the period `spec` describes to the project, under `label`, recorded as `action`."""
    period = ReportingPeriod(
        project_id=project.id,
        label=label,
        start_date=spec.start_date,
        end_date=spec.end_date,
        due_date=spec.due_date,
    )
    db.session.add(period)
    audit.record(db.session, action, actor=actor, target=period)
    return period


@retry_on_duplicate
def generate_periods(
    project: Project, frequency: Frequency, due_days: int, *, actor: Any
) -> tuple[list[ReportingPeriod], list[PeriodSpec]]:
    """Add the series' periods that fit; returns (added, skipped because they clash with existing ones)."""
    if project.start_date is None or project.end_date is None:
        raise PeriodError(_("Set the project's start and end dates first."))
    if not 0 <= due_days <= 365:
        raise PeriodError(_("Reports are due between 0 and 365 days after a period ends."))
    existing = project_periods(project)
    added, skipped = [], []
    for spec in period_series(project.start_date, project.end_date, frequency, due_days):
        if spec_errors(project, spec, existing):
            skipped.append(spec)
            continue
        period = _new_period(project, spec.label, spec, "period.generate", actor=actor)
        existing.append(period)
        added.append(period)
    db.session.flush()
    return added, skipped


def has_reports(period: ReportingPeriod) -> bool:
    return (
        db.session.scalar(sa.select(Submission.id).where(Submission.period_id == period.id).limit(1))
        is not None
    )


def delete_period(period: ReportingPeriod, *, actor: Any) -> None:
    if has_reports(period):
        raise PeriodError(
            _("Reports were started for %(label)s, so it cannot be deleted.", label=period.label)
        )
    audit.record(db.session, "period.delete", actor=actor, target=period)
    db.session.delete(period)
    db.session.flush()


@retry_on_duplicate
def update_period(period: ReportingPeriod, spec: PeriodSpec, *, actor: Any) -> None:
    """Change a period. Once reports exist, only its name and due date may change."""
    project = period.project
    others = [p for p in project_periods(project) if p.id != period.id]
    errors = spec_errors(project, spec, others)
    if errors:
        raise PeriodError(" ".join(errors.values()))
    moved = (spec.start_date, spec.end_date) != (period.start_date, period.end_date)
    if moved and has_reports(period):
        raise PeriodError(
            _(
                "Reports were started for %(label)s: only its name and due date can change.",
                label=period.label,
            )
        )
    period.label = spec.label.strip()
    period.start_date, period.end_date, period.due_date = spec.start_date, spec.end_date, spec.due_date
    audit.record(db.session, "period.update", actor=actor, target=period)
    db.session.flush()
