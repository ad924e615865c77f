"""Publishing a project, and what its public dashboard may show.

A published project's dashboard is open to anyone, without signing in. Trade unionists can face
reprisals for what they report, so the public sees only what the project has already agreed to
make known, and nothing that names or points at a person:

- the project's summary facts and its partner organisations' names;
- its results framework with the figures of *approved* reports only (the same figures as the
  project page, from `mel_app.figures` through `projects.services.load_project_page`), without
  the per-organisation breakdown of those figures;
- its *closed* evaluations: the consolidated statistics per criterion, overall and for the groups
  with enough scorecards (`MIN_PUBLIC_SCORECARDS`; never one person's scores, never who scored)
  and the recommendations with their management responses (never who wrote or answered them).

Never: names or e-mail addresses of users, comments, reports that are drafts, submitted,
returned or withdrawn, attachments, the reporting status grid, open evaluations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from mel_app import audit
from mel_app.evaluations import services as evaluation_services
from mel_app.evaluations.stats import CriterionSummary
from mel_app.exports.scope import ExportContext, Scope
from mel_app.extensions import db
from mel_app.models import Evaluation, EvaluationStatus, Project, Recommendation, utcnow
from mel_app.permissions import public_project_ids
from mel_app.projects import services as project_services


class PublishError(Exception):
    """The project cannot change its public state (it is already in the state asked for)."""


def publish_project(project: Project, *, actor: Any) -> None:
    """Open the project's dashboard and IATI activity to the public (audited)."""
    if project.published_at is not None:
        raise PublishError(_("The project is public already."))
    project.published_at = utcnow()
    audit.record(db.session, "project.publish", actor=actor, target=project)
    db.session.flush()


def unpublish_project(project: Project, *, actor: Any) -> None:
    """Withdraw the public dashboard and IATI activity at once (audited)."""
    if project.published_at is None:
        raise PublishError(_("The project is not public."))
    project.published_at = None
    audit.record(db.session, "project.unpublish", actor=actor, target=project)
    db.session.flush()


def published_projects() -> list[Project]:
    return list(
        db.session.scalars(
            sa.select(Project)
            .where(Project.id.in_(public_project_ids()))
            .options(selectinload(Project.countries))
            .order_by(Project.reference)
        )
    )


def published_project(project_id: int) -> Project | None:
    """A published project; None for any other (unpublished or missing alike, so the answer does
    not tell whether a project exists)."""
    return db.session.scalar(
        sa.select(Project)
        .where(Project.id == project_id, Project.id.in_(public_project_ids()))
        .options(selectinload(Project.countries))
    )


# A group's statistics are public only when at least this many of its scorecards were submitted,
# and an evaluation's statistics only when at least this many were submitted in all: the mean,
# minimum and maximum of one or two scorecards are those people's own scores, and the people
# who take part in a project know who scored for a small group.
MIN_PUBLIC_SCORECARDS = 3


@dataclass
class PublicEvaluation:
    evaluation: Evaluation
    results: Any
    recommendations: list[Recommendation]
    too_few_scorecards: bool = False


def _without_small_groups(results: Any) -> Any:
    """The consolidated results without the lines of groups with too few scorecards (their
    scores still count in the "All groups" line)."""
    shown = [g for g in results.groups if results.submitted.get(g, 0) >= MIN_PUBLIC_SCORECARDS]
    summaries = {
        criterion_id: CriterionSummary(
            overall=summary.overall, groups={g: s for g, s in summary.groups.items() if g in shown}
        )
        for criterion_id, summary in results.summaries.items()
    }
    return replace(results, groups=shown, summaries=summaries, individuals=None)


def closed_evaluations(project: Project) -> list[Evaluation]:
    """The project's closed evaluations, latest first."""
    return list(
        db.session.scalars(
            sa.select(Evaluation)
            .where(Evaluation.project_id == project.id, Evaluation.status == EvaluationStatus.closed)
            .order_by(Evaluation.closed_at.desc(), Evaluation.id.desc())
        )
    )


def closed_evaluation(project: Project, evaluation_id: int) -> PublicEvaluation | None:
    """A closed evaluation of the project: consolidated statistics, recommendations, responses."""
    evaluation = db.session.scalar(
        sa.select(Evaluation).where(
            Evaluation.id == evaluation_id,
            Evaluation.project_id == project.id,
            Evaluation.status == EvaluationStatus.closed,
        )
    )
    if evaluation is None:
        return None
    recommendations = list(
        db.session.scalars(
            sa.select(Recommendation)
            .where(Recommendation.evaluation_id == evaluation.id)
            .order_by(Recommendation.position, Recommendation.id)
        )
    )
    results = evaluation_services.consolidated_results(evaluation, with_individuals=False)
    return PublicEvaluation(
        evaluation=evaluation,
        results=_without_small_groups(results),
        recommendations=recommendations,
        too_few_scorecards=sum(results.submitted.values()) < MIN_PUBLIC_SCORECARDS,
    )


def project_page(project: Project, *, today: date) -> Any:
    """The summary, partners and results framework with approved figures (the project page's)."""
    return project_services.load_project_page(project, today=today, reporter_organisation_ids=set())


def public_export_context(project_ids: tuple[int, ...]) -> ExportContext:
    """The IATI export's clauses for the public: the given published projects, approved reports
    only, closed evaluations only, nobody's name."""
    return ExportContext(
        scope=Scope(project_ids=project_ids),
        reader_name="public",
        exportable=public_project_ids(),
        unapproved_ok=(),
        names_ok=(),
        open_evaluations_ok=(),
        hidden_evaluations=sa.select(Evaluation.id).where(sa.false()),
    )
