"""Policies of participatory evaluations, and of their criteria sets and scales.

`world.evaluation` is open; the evaluator has a draft scorecard in it, so sees no one else's
scores nor the consolidated results yet (no anchoring). `world.closed_evaluation` is closed, with
a recommendation by the evaluator (who has no scorecard there) awaiting management's response.
Specialists of the project manage evaluations; criteria sets and scales are administrators'
pages, which do not exist for anyone else (404).
"""

from datetime import date

from mel_app.extensions import db
from mel_app.models import (
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    Membership,
    Recommendation,
    Role,
    Scorecard,
    ScorecardStatus,
    ScorerGroup,
    User,
    utcnow,
)
from tests.authz.policy import Route, expect, project, signed_in

MEMBERS = {
    "reporter_same_org": 200,
    "reporter_other_org": 200,
    "specialist": 200,
    "evaluator": 200,
    "observer": 200,
    "admin": 200,
}


def admin_page(status):
    """Administrators only; forbidden to everybody else, as the other administrators' pages."""
    return expect(403, anonymous=302, admin=status)


POLICIES = {
    "evaluations.index": Route(get=signed_in(200)),
    "evaluations.project_index": Route(get=project(**MEMBERS)),
    "evaluations.detail": Route(get=project(**MEMBERS)),
    # Opening and managing: the project's specialists.
    "evaluations.new": Route(get=project(specialist=200), post=project(specialist=422)),
    "evaluations.invite": Route(post=project(specialist=422)),
    # GET: the confirmation page; a POST without its `confirmed` field is sent there (303).
    "evaluations.close": Route(get=project(specialist=200), post=project(specialist=303)),
    # One's own scorecard: only a member invited to score has one (the others: 403).
    "evaluations.scorecard": Route(get=project(evaluator=200), post=project(evaluator=422)),
    # Someone else's submitted scorecard: evaluators and specialists who are not anchored.
    "evaluations.view_scorecard": Route(
        get=project(specialist=200), args=lambda w: {"card_id": w.submitted_scorecard}
    ),
    "evaluations.reopen_scorecard": Route(
        post=project(specialist=422), args=lambda w: {"card_id": w.submitted_scorecard}
    ),
    # The consolidated results of an open evaluation: specialists, administrators, and evaluators
    # once their own scorecard is submitted.
    "evaluations.consolidated": Route(get=project(specialist=200, admin=200)),
    "evaluations.download_results": Route(post=project(specialist=200, admin=200)),
    # The evaluator of this world has a draft scorecard: like the results, recommending waits
    # until it is in (tests/test_evaluations_admin.py covers the evaluator who has scored).
    "evaluations.add_recommendation": Route(post=project()),
    # Its author edits a recommendation until management has responded (the empty form lacks the
    # version the author saw: refused as a conflict).
    "evaluations.edit_recommendation": Route(
        get=project(evaluator=200),
        post=project(evaluator=409),
        args=lambda w: {"rec_id": w.recommendation},
    ),
    # Management (the project's specialists) responds. The evaluation is closed, so every member
    # reads its recommendations (403 when they may not act); in an open one, only those who read
    # its results may know of them (404).
    "evaluations.respond": Route(
        get=project(specialist=200),
        post=project(specialist=422),
        args=lambda w: {"rec_id": w.recommendation},
    ),
    # Criteria sets and scales.
    "admin.criteria_sets": Route(get=admin_page(200)),
    "admin.new_criteria_set": Route(get=admin_page(200), post=admin_page(422)),
    "admin.edit_criteria_set": Route(
        get=admin_page(200), post=admin_page(409), args=lambda w: {"set_id": w.criteria_set}
    ),
    "admin.copy_criteria_set": Route(post=admin_page(302), args=lambda w: {"set_id": w.criteria_set}),
    "admin.default_criteria_set": Route(post=admin_page(302), args=lambda w: {"set_id": w.criteria_set}),
    "admin.scales": Route(get=admin_page(200)),
    "admin.new_scale": Route(get=admin_page(200), post=admin_page(422)),
    "admin.edit_scale": Route(
        get=admin_page(200), post=admin_page(409), args=lambda w: {"scale_id": w.scale}
    ),
    "admin.copy_scale": Route(post=admin_page(302), args=lambda w: {"scale_id": w.scale}),
    "admin.default_scale": Route(post=admin_page(302), args=lambda w: {"scale_id": w.scale}),
}


def extend_world(world, make):
    session = db.session

    def add(obj):
        session.add(obj)
        session.flush()
        return obj.id

    # A second evaluator, whose scorecard in the open evaluation is submitted.
    scorer = add(
        User(
            email=f"scorer{world.project}@example.org",
            full_name=f"Second evaluator {world.project}",
            password_hash=None,
            session_token=f"scorer-{world.project}",
        )
    )
    add(Membership(user_id=scorer, project_id=world.project, role=Role.evaluator))
    world.ids["submitted_scorecard"] = add(
        Scorecard(
            evaluation_id=world.evaluation,
            scorer_id=scorer,
            group=ScorerGroup.independent,
            status=ScorecardStatus.submitted,
            submitted_at=utcnow(),
        )
    )
    world.ids["closed_evaluation"] = add(
        Evaluation(
            project_id=world.project,
            kind=EvaluationKind.final,
            title="Final evaluation",
            criteria_set_id=world.criteria_set,
            scale_id=world.scale,
            status=EvaluationStatus.closed,
            opened_by_id=world.user_specialist,
            deadline=date(2026, 1, 1),
            closed_by_id=world.user_specialist,
            closed_at=utcnow(),
        )
    )
    world.ids["recommendation"] = add(
        Recommendation(
            evaluation_id=world.closed_evaluation,
            text="Report the split by sex.",
            created_by_id=world.user_evaluator,
        )
    )
