"""What the evaluation pages read: lists, an evaluation's scorecards and recommendations.

Reads only; who may see them is decided by the callers with mel_app/permissions.py. The commands
(open, invite, score, close, recommend) are in services.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from mel_app.extensions import db
from mel_app.models import (
    CriteriaSet,
    Evaluation,
    Project,
    Recommendation,
    Scale,
    Scorecard,
    ScorecardStatus,
    User,
)
from mel_app.permissions import visible_evaluation_filter


def _newest_first(condition: sa.ColumnElement[bool]) -> sa.Select[tuple[Evaluation]]:
    return (
        sa.select(Evaluation)
        .options(joinedload(Evaluation.project))
        .where(condition)
        .order_by(Evaluation.opened_at.desc(), Evaluation.id.desc())
    )


def visible_evaluations(user: User) -> sa.Select[tuple[Evaluation]]:
    """The evaluations `user` may see, newest first."""
    return _newest_first(visible_evaluation_filter(user))


def project_evaluations(project: Project) -> sa.Select[tuple[Evaluation]]:
    """A project's evaluations, newest first (the caller has checked the project is visible)."""
    return _newest_first(Evaluation.project_id == project.id)


def criteria_sets(*, with_criteria: bool = False) -> sa.Select[tuple[CriteriaSet]]:
    """Every criteria set, the default first, then by name."""
    query = sa.select(CriteriaSet).order_by(CriteriaSet.is_default.desc(), CriteriaSet.name)
    return query.options(selectinload(CriteriaSet.criteria)) if with_criteria else query


def scales(*, with_points: bool = False) -> sa.Select[tuple[Scale]]:
    """Every scale, the default first, then by name."""
    query = sa.select(Scale).order_by(Scale.is_default.desc(), Scale.name)
    return query.options(selectinload(Scale.points)) if with_points else query


def all_of(query: sa.Select) -> list:
    return list(db.session.scalars(query))


def scorecards_of(evaluation: Evaluation) -> list[Scorecard]:
    """The evaluation's scorecards with their scorers, by group."""
    return list(
        db.session.scalars(
            sa.select(Scorecard)
            .options(joinedload(Scorecard.scorer))
            .where(Scorecard.evaluation_id == evaluation.id)
            .order_by(Scorecard.group, Scorecard.id)
        )
    )


def scorecard_counts(evaluation: Evaluation) -> tuple[int, int]:
    """(submitted, all) scorecards of the evaluation."""
    statuses = list(
        db.session.scalars(sa.select(Scorecard.status).where(Scorecard.evaluation_id == evaluation.id))
    )
    return sum(1 for s in statuses if s is ScorecardStatus.submitted), len(statuses)


def scorecard_in(evaluation: Evaluation, card_id: int) -> Scorecard | None:
    """One scorecard of this evaluation (None if it belongs to another), with its scores."""
    return db.session.scalar(
        sa.select(Scorecard)
        .options(selectinload(Scorecard.scores), joinedload(Scorecard.scorer))
        .where(Scorecard.id == card_id, Scorecard.evaluation_id == evaluation.id)
    )


def recommendations_of(evaluation: Evaluation) -> list[Recommendation]:
    """The evaluation's recommendations in order, with who wrote, answered and is addressed."""
    return list(
        db.session.scalars(
            sa.select(Recommendation)
            .options(
                joinedload(Recommendation.created_by),
                joinedload(Recommendation.responded_by),
                joinedload(Recommendation.addressed_organisation),
            )
            .where(Recommendation.evaluation_id == evaluation.id)
            .order_by(Recommendation.position)
        )
    )


def recommendation(rec_id: int) -> Recommendation | None:
    """One recommendation with its evaluation and project (for the permission check)."""
    return db.session.scalar(
        sa.select(Recommendation)
        .options(joinedload(Recommendation.evaluation).joinedload(Evaluation.project))
        .where(Recommendation.id == rec_id)
    )
