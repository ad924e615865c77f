"""List and dashboard pages run the same number of SQL statements whatever the size of the data.

One line per page in PAGES: (endpoint, role of the signed-in user, URL arguments from the data
that user can see). A page whose endpoint is not registered (yet) is skipped, so the table can
name every agreed list and dashboard page.

Each page is measured in a small portfolio (`seed-load --scale 0.02`: one project), then again
after a second, larger load has been added and the same user has joined every new project, with
the largest objects that user can see in place of the smallest.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import url_for

from bench.loadgen import LOAD_PASSWORD
from mel_app.extensions import db
from mel_app.models import (
    Evaluation,
    Indicator,
    IndicatorValue,
    Membership,
    Partner,
    Project,
    Role,
    Scorecard,
    Submission,
    SubmissionKind,
    User,
)
from tests.test_perf_loadgen import seed_load


@dataclass
class Seen:
    """What a user sees, and the smallest or largest objects of each kind among it."""

    project_id: int
    evaluation_id: int
    submission_id: int
    indicator_id: int
    projects: int
    submissions: int


def no_args(seen: Seen) -> dict:
    return {}


PAGES = [
    ("main.home", "reporter", no_args),
    ("main.home", "specialist", no_args),
    ("main.home", "evaluator", no_args),
    ("main.home", "observer", no_args),
    ("main.home", "admin", no_args),
    ("projects.index", "reporter", no_args),
    ("projects.index", "admin", no_args),
    ("projects.portfolio", "specialist", no_args),
    ("projects.portfolio_by_tag", "specialist", no_args),
    ("projects.portfolio_by_tag", "admin", lambda s: {"scheme": "sdg"}),
    ("projects.detail", "specialist", lambda s: {"project_id": s.project_id}),
    ("projects.reporting_status", "specialist", lambda s: {"project_id": s.project_id}),
    (
        "projects.indicator",
        "specialist",
        lambda s: {"project_id": s.project_id, "indicator_id": s.indicator_id},
    ),
    ("members.index", "specialist", lambda s: {"project_id": s.project_id}),
    ("submissions.review_queue", "specialist", no_args),
    ("evaluations.consolidated", "evaluator", lambda s: {"evaluation_id": s.evaluation_id}),
    # The trail reads the current rows of the records its page of changes names, one statement
    # per kind of record; filtered to reports, both pages refer to the same kinds.
    ("audit.trail", "admin", lambda s: {"entity_type": "submission"}),
    ("audit.trail", "specialist", no_args),
    (
        "audit.entity_history",
        "specialist",
        lambda s: {"entity_type": "submission", "entity_id": s.submission_id},
    ),
    ("exports.index", "evaluator", no_args),
    ("admin.users", "admin", no_args),
    ("admin.organisations", "admin", no_args),
]


def _user(role: str) -> int:
    if role == "admin":
        return db.session.scalar(sa.select(User.id).where(User.is_admin).order_by(User.id).limit(1))
    return db.session.scalar(
        sa.select(User.id)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.role == Role(role), User.is_active, ~User.is_admin)
        .order_by(User.id)
        .limit(1)
    )


def _seen(user_id: int, role: str, *, largest: bool) -> Seen:
    if role == "admin":
        projects = sa.select(Project.id)
    else:
        projects = sa.select(Membership.project_id).where(Membership.user_id == user_id)
    pick = sa.desc if largest else sa.asc
    per_project = (
        sa.select(Submission.project_id, sa.func.count().label("n"))
        .where(Submission.project_id.in_(projects))
        .group_by(Submission.project_id)
        .order_by(pick(sa.func.count()), Submission.project_id)
    )
    project_id = db.session.execute(per_project.limit(1)).first()[0]
    evaluation_id = db.session.scalar(
        sa.select(Evaluation.id)
        .outerjoin(Scorecard)
        .where(Evaluation.project_id == project_id)
        .group_by(Evaluation.id)
        .order_by(pick(sa.func.count(Scorecard.id)), Evaluation.id)
        .limit(1)
    )
    # A progress report in both cases, so that the two histories refer to the same kinds of record.
    submission_id = db.session.scalar(
        sa.select(Submission.id)
        .where(Submission.project_id == project_id, Submission.kind == SubmissionKind.progress_report)
        .order_by(pick(Submission.id))
        .limit(1)
    )
    # The indicator with the fewest or the most values reported, for its own page.
    indicator_id = db.session.scalar(
        sa.select(Indicator.id)
        .outerjoin(IndicatorValue, IndicatorValue.indicator_id == Indicator.id)
        .where(Indicator.project_id == project_id)
        .group_by(Indicator.id)
        .order_by(pick(sa.func.count(IndicatorValue.id)), Indicator.id)
        .limit(1)
    )
    return Seen(
        project_id=project_id,
        evaluation_id=evaluation_id,
        submission_id=submission_id,
        indicator_id=indicator_id,
        projects=db.session.scalar(sa.select(sa.func.count()).select_from(projects.subquery())),
        submissions=db.session.scalar(
            sa.select(sa.func.count(Submission.id)).where(Submission.project_id.in_(projects))
        ),
    )


def _join_new_projects(user_id: int, role: str, known: set[int]) -> None:
    """Give the user the same role in every project of the second load."""
    if role == "admin":
        return
    org_id = db.session.get(User, user_id).organisation_id
    for project_id in db.session.scalars(sa.select(Project.id).where(Project.id.not_in(known))):
        if role == "reporter":
            db.session.add(Partner(project_id=project_id, organisation_id=org_id))
        db.session.add(
            Membership(
                user_id=user_id,
                project_id=project_id,
                role=Role(role),
                organisation_id=org_id if role == "reporter" else None,
            )
        )
    db.session.commit()


def _count(app, client, queries, endpoint: str, args: dict) -> int:
    with app.test_request_context():
        url = url_for(endpoint, **args)
    client.get(url)  # warm up: anything done once per session is not the page's cost
    with queries() as statements:
        resp = client.get(url)
    assert resp.status_code == 200, f"{endpoint} answered {resp.status_code}"
    return len(statements)


@pytest.mark.parametrize(
    ("endpoint", "role", "args"), PAGES, ids=[f"{endpoint}-{role}" for endpoint, role, _ in PAGES]
)
def test_query_count_does_not_grow_with_the_data(app, runner, client, login, queries, endpoint, role, args):
    if endpoint not in app.view_functions:
        pytest.skip(f"{endpoint} is not registered on this branch")
    seed_load(runner)
    with app.app_context():
        user_id = _user(role)
        email = db.session.get(User, user_id).email
        small = _seen(user_id, role, largest=False)
        known = set(db.session.scalars(sa.select(Project.id)))
    login(email, LOAD_PASSWORD)
    before = _count(app, client, queries, endpoint, args(small))
    assert before <= 20, f"{endpoint} as {role}: {before} statements, above the ceiling of 20"

    seed_load(runner, scale="0.06", seed="2")
    from mel_app.audit import SYSTEM_ACTOR, set_actor

    with app.app_context():
        set_actor(db.session(), SYSTEM_ACTOR)
        _join_new_projects(user_id, role, known)
        large = _seen(user_id, role, largest=True)
    assert large.projects > small.projects and large.submissions > small.submissions
    after = _count(app, client, queries, endpoint, args(large))
    assert after == before, (
        f"{endpoint} as {role}: {before} statements with {small.projects} project(s) and "
        f"{small.submissions} submissions, {after} with {large.projects} and {large.submissions}"
    )
