"""A small project with every kind of scorer, for the evaluation tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from mel_app import audit
from mel_app.evaluations.defaults import ensure_defaults
from mel_app.extensions import db
from mel_app.models import (
    Criterion,
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    OrgGroup,
    Role,
    Score,
    Scorecard,
    ScorecardStatus,
    ScorerGroup,
    utcnow,
)
from tests import snapshots


@dataclass
class World:
    project: int
    orgs: dict[str, int]
    users: dict[str, int]
    emails: dict[str, str]
    criteria_set: int
    scale: int
    criteria: dict[str, int] = field(default_factory=dict)  # code -> id


def build_world(app, make) -> World:
    """Users: specialist, evaluator, union1, union2, employer, government, ilo_officer (observer
    from the ILO), observer (donor), outsider, admin. In an empty database, a copy of the rows of
    the first one this worker built (tests/snapshots.py)."""
    return snapshots.built_once(app, f"evaluation world of {date.today()}", lambda: _build_world(app, make))


def _build_world(app, make) -> World:
    orgs = {
        "union": make.organisation("Fictional Union Centre", group=OrgGroup.workers),
        "employers": make.organisation("Fictional Employers Federation", group=OrgGroup.employers),
        "government": make.organisation("Fictional Ministry of Labour", group=OrgGroup.government),
        "ilo": make.organisation("ILO ACTRAV (test)", group=OrgGroup.ilo, country="CH"),
        "evaluators": make.organisation("Fictional Evaluation Associates", group=OrgGroup.other),
        "donor": make.organisation("Fictional Donor Agency", group=OrgGroup.donor),
    }
    people = {
        "specialist": ("ilo", "Carla Specialist"),
        "evaluator": ("evaluators", "Eva Evaluator"),
        "union1": ("union", "Una Union"),
        "union2": ("union", "Ugo Union"),
        "employer": ("employers", "Emil Employer"),
        "government": ("government", "Gita Government"),
        "ilo_officer": ("ilo", "Ivo Officer"),
        "observer": ("donor", "Olga Observer"),
        "outsider": ("union", "Otto Outsider"),
        "admin": ("ilo", "Ada Admin"),
    }
    users, emails = {}, {}
    for key, (org, name) in people.items():
        emails[key] = f"{key}@example.org"
        users[key] = make.user(
            emails[key], organisation_id=orgs[org], full_name=name, is_admin=key == "admin"
        )
    project = make.project("RAF/22/11/NOR", title="Promoting Workers Rights")
    for org in ("union", "employers", "government"):
        make.partner(project, orgs[org])
    make.member(users["specialist"], project, Role.specialist)
    make.member(users["evaluator"], project, Role.evaluator)
    make.member(users["union1"], project, Role.reporter, organisation_id=orgs["union"])
    make.member(users["union2"], project, Role.reporter, organisation_id=orgs["union"])
    make.member(users["employer"], project, Role.reporter, organisation_id=orgs["employers"])
    make.member(users["government"], project, Role.reporter, organisation_id=orgs["government"])
    make.member(users["ilo_officer"], project, Role.observer)
    make.member(users["observer"], project, Role.observer)
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        criteria_set, scale = ensure_defaults()
        db.session.commit()
        world = World(project, orgs, users, emails, criteria_set.id, scale.id)
        world.criteria = {c.code: c.id for c in criteria_set.criteria}
    return world


def add_evaluation(app, world: World, *, status=EvaluationStatus.open, title="Mid-term evaluation") -> int:
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        closed = status is EvaluationStatus.closed
        evaluation = Evaluation(
            project_id=world.project,
            kind=EvaluationKind.mid_term,
            title=title,
            criteria_set_id=world.criteria_set,
            scale_id=world.scale,
            status=status,
            deadline=date.today() + timedelta(days=30),
            opened_by_id=world.users["specialist"],
            closed_by_id=world.users["specialist"] if closed else None,
            closed_at=utcnow() if closed else None,
        )
        db.session.add(evaluation)
        db.session.commit()
        return evaluation.id


def add_scorecard(
    app,
    evaluation_id: int,
    scorer_id: int,
    group: ScorerGroup,
    points: dict[str, int | None] | None = None,
    *,
    submitted: bool = True,
    all_criteria: bool = False,
) -> int:
    """A scorecard with the given points by criterion code (None: cannot assess).

    all_criteria fills every other criterion with 4 so that the scorecard is complete.
    """
    points = dict(points or {})
    with app.app_context():
        audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
        evaluation = db.session.get(Evaluation, evaluation_id)
        codes = {
            c.code: c.id
            for c in db.session.scalars(
                sa.select(Criterion).where(Criterion.criteria_set_id == evaluation.criteria_set_id)
            )
        }
        if all_criteria:
            for code in codes:
                points.setdefault(code, 4)
        card = Scorecard(
            evaluation_id=evaluation_id,
            scorer_id=scorer_id,
            group=group,
            status=ScorecardStatus.submitted if submitted else ScorecardStatus.draft,
            submitted_at=utcnow() if submitted else None,
        )
        db.session.add(card)
        for code, point in points.items():
            db.session.add(
                Score(
                    scorecard=card,
                    criterion_id=codes[code],
                    point=point,
                    cannot_assess=point is None,
                    justification=f"Reason for {code}",
                )
            )
        db.session.commit()
        return card.id
