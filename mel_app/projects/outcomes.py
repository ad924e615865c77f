"""Outcome harvesting: a project's outcome statements, recorded and edited by its specialists.

What a statement may refer to is checked here, whatever the form offered: contributing
organisations are partners of the project, a linked result is one of its results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from mel_app import audit
from mel_app.extensions import db
from mel_app.kit.errors import DomainError
from mel_app.models import (
    OutcomeContributor,
    OutcomeStatement,
    Project,
    Result,
)
from mel_app.partners import partner_organisations  # who may be named as contributors

ACTOR_MAX = 300
PLACE_MAX = 300
TEXT_MAX = 5000


class OutcomeError(DomainError):
    """What the user sent names something the project does not have."""

    http_status = 422


@dataclass
class OutcomeSpec:
    social_actor: str
    change: str
    changed_on: date
    month_only: bool = False
    place: str = ""
    significance: str = ""
    contribution: str = ""
    result_id: int | None = None
    unexpected: bool = False
    negative: bool = False
    organisation_ids: list[int] = field(default_factory=list)


# --- reading ------------------------------------------------------------------------------------


def project_results(project: Project) -> list[Result]:
    """The results a statement may be linked to: the project's results still in its framework."""
    return list(
        db.session.scalars(
            sa.select(Result)
            .where(Result.project_id == project.id, Result.is_archived.is_(False))
            .order_by(Result.position, Result.code)
        )
    )


def project_outcomes(project: Project) -> list[OutcomeStatement]:
    """The project's statements, the most recent change first."""
    return list(
        db.session.scalars(
            sa.select(OutcomeStatement)
            .where(OutcomeStatement.project_id == project.id)
            .options(
                selectinload(OutcomeStatement.result),
                selectinload(OutcomeStatement.contributors).selectinload(OutcomeContributor.organisation),
            )
            .order_by(OutcomeStatement.changed_on.desc(), OutcomeStatement.id.desc())
        )
    )


# --- changing -----------------------------------------------------------------------------------


def _checked(project: Project, spec: OutcomeSpec) -> OutcomeSpec:
    if not spec.social_actor.strip():
        raise OutcomeError(_("Say who changed."))
    if not spec.change.strip():
        raise OutcomeError(_("Say what changed."))
    partners = {o.id for o in partner_organisations(project.id)}
    if any(org_id not in partners for org_id in spec.organisation_ids):
        raise OutcomeError(_("Only the project's partner organisations can be named as contributors."))
    if spec.result_id is not None:
        result = db.session.get(Result, spec.result_id)
        if result is None or result.project_id != project.id:
            raise OutcomeError(_("Choose one of the project's results."))
    return spec


def _apply(outcome: OutcomeStatement, spec: OutcomeSpec) -> None:
    outcome.social_actor = spec.social_actor.strip()
    outcome.change = spec.change.strip()
    outcome.month_only = spec.month_only
    outcome.changed_on = spec.changed_on.replace(day=1) if spec.month_only else spec.changed_on
    outcome.place = spec.place.strip()
    outcome.significance = spec.significance.strip()
    outcome.contribution = spec.contribution.strip()
    outcome.result_id = spec.result_id
    outcome.unexpected = spec.unexpected
    outcome.negative = spec.negative
    wanted = list(dict.fromkeys(spec.organisation_ids))
    kept = [c for c in outcome.contributors if c.organisation_id in wanted]
    have = {c.organisation_id for c in kept}
    outcome.contributors = kept + [
        OutcomeContributor(organisation_id=org_id) for org_id in wanted if org_id not in have
    ]


def record_outcome(project: Project, spec: OutcomeSpec, *, actor: Any) -> OutcomeStatement:
    _checked(project, spec)
    outcome = OutcomeStatement(project_id=project.id, recorded_by_id=getattr(actor, "id", None))
    db.session.add(outcome)
    _apply(outcome, spec)
    audit.record(db.session, "outcome_statement.create", actor=actor, target=outcome)
    db.session.flush()
    return outcome


def update_outcome(outcome: OutcomeStatement, spec: OutcomeSpec, *, actor: Any) -> None:
    _checked(outcome.project, spec)
    _apply(outcome, spec)
    audit.record(db.session, "outcome_statement.update", actor=actor, target=outcome)
    db.session.flush()
