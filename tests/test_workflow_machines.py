"""The three state machines, one table each: every (state, action) pair, on a stored row.

An allowed pair moves the row on (its version goes up) and answers the target state; a refused
one is a 409 `WorkflowError` and leaves the row as it was. The expected tables are written out
here, not read from the code, so that a changed arrow is a visible decision.
"""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa

from mel_app import audit, workflow
from mel_app.extensions import db
from mel_app.models import (
    Evaluation,
    EvaluationStatus,
    Scorecard,
    ScorecardStatus,
    ScorerGroup,
    Status,
    Submission,
    User,
    utcnow,
)
from mel_app.workflow import Action, EvaluationAction, ScorecardAction, WorkflowError
from tests import evaluation_world, submissions_world

SUBMISSION_TABLE: dict[tuple[Status, Action], Status] = {
    (Status.draft, Action.submit): Status.submitted,
    (Status.returned, Action.submit): Status.submitted,
    (Status.submitted, Action.return_): Status.returned,
    (Status.submitted, Action.approve): Status.approved,
    (Status.approved, Action.reopen): Status.returned,
    (Status.draft, Action.withdraw): Status.withdrawn,
    (Status.returned, Action.withdraw): Status.withdrawn,
}

# (evaluation state, scorecard state, action) -> scorecard target: nothing moves once it is closed.
SCORECARD_TABLE: dict[tuple[EvaluationStatus, ScorecardStatus, ScorecardAction], ScorecardStatus] = {
    (EvaluationStatus.open, ScorecardStatus.draft, ScorecardAction.save): ScorecardStatus.draft,
    (EvaluationStatus.open, ScorecardStatus.draft, ScorecardAction.submit): ScorecardStatus.submitted,
    (EvaluationStatus.open, ScorecardStatus.submitted, ScorecardAction.reopen): ScorecardStatus.draft,
}

EVALUATION_TABLE: dict[tuple[EvaluationStatus, EvaluationAction], EvaluationStatus] = {
    (EvaluationStatus.open, EvaluationAction.close): EvaluationStatus.closed,
}

SUBMISSION_PAIRS = list(itertools.product(Status, Action))
SCORECARD_PAIRS = list(itertools.product(EvaluationStatus, ScorecardStatus, ScorecardAction))
EVALUATION_PAIRS = list(itertools.product(EvaluationStatus, EvaluationAction))


def _ids(member: object) -> str:
    return str(getattr(member, "value", member))


def test_the_tables_name_every_state_and_action_of_the_machines():
    assert set(workflow.SUBMISSION.pairs()) == set(SUBMISSION_PAIRS)
    assert set(workflow.SCORECARD.pairs()) == set(itertools.product(ScorecardStatus, ScorecardAction))
    assert set(workflow.EVALUATION.pairs()) == set(EVALUATION_PAIRS)


@pytest.fixture
def submission_world(make):
    return submissions_world.build_world(make)


@pytest.mark.parametrize(("status", "action"), SUBMISSION_PAIRS, ids=_ids)
def test_submission_machine(app, submission_world, status, action):
    world = submission_world
    author = "author" if action in (Action.submit, Action.withdraw) else "specialist"
    sub_id = submissions_world.add_submission(app, world, status)
    with app.test_request_context():
        actor = db.session.get(User, world.users[author])
        audit.set_actor(db.session(), audit.actor_of(actor))
        sub = db.session.get(Submission, sub_id)
        version = sub.version
        expected = SUBMISSION_TABLE.get((status, action))
        assert workflow.allowed(status, action) is (expected is not None)
        if expected is None:
            with pytest.raises(WorkflowError) as refused:
                workflow.transition(sub, action, actor=actor, expected_version=version, reason="Because.")
            assert refused.value.http_status == 409
            assert not isinstance(refused.value, workflow.WorkflowConflict)
            db.session.rollback()
        else:
            workflow.transition(sub, action, actor=actor, expected_version=version, reason="Because.")
            db.session.commit()
    assert submissions_world.state(app, sub_id) == (
        (status, version) if expected is None else (expected, version + 1)
    )


@pytest.fixture
def scoring_world(app, make):
    return evaluation_world.build_world(app, make)


@pytest.mark.parametrize(("evaluation_status", "status", "action"), SCORECARD_PAIRS, ids=_ids)
def test_scorecard_machine(app, scoring_world, evaluation_status, status, action):
    world = scoring_world
    evaluation_id = evaluation_world.add_evaluation(app, world, status=evaluation_status)
    card_id = evaluation_world.add_scorecard(
        app,
        evaluation_id,
        world.users["union1"],
        ScorerGroup.workers,
        submitted=status is ScorecardStatus.submitted,
        all_criteria=True,
    )
    expected = SCORECARD_TABLE.get((evaluation_status, status, action))
    with app.test_request_context():
        card = db.session.get(Scorecard, card_id)
        version = card.version
        assert workflow.scorecard_allowed(status, action, evaluation_status) is (expected is not None)
        if expected is None:
            with pytest.raises(WorkflowError) as refused:
                workflow.claim_scorecard(card, action, evaluation=card.evaluation, expected_version=version)
            assert refused.value.http_status == 409
            assert not isinstance(refused.value, workflow.StaleError)
            db.session.rollback()
        else:
            target = workflow.claim_scorecard(
                card, action, evaluation=card.evaluation, expected_version=version
            )
            assert target is expected
            db.session.commit()
        db.session.expire_all()
        card = db.session.get(Scorecard, card_id)
        assert card.status is status, "the machine takes the lock; the service writes the change"
        assert card.version == (version if expected is None else version + 1)


@pytest.mark.parametrize(("status", "action"), EVALUATION_PAIRS, ids=_ids)
def test_evaluation_machine(app, scoring_world, status, action):
    evaluation_id = evaluation_world.add_evaluation(app, scoring_world, status=status)
    expected = EVALUATION_TABLE.get((status, action))
    with app.test_request_context():
        evaluation = db.session.get(Evaluation, evaluation_id)
        version = evaluation.version
        assert workflow.EVALUATION.allowed(status, action) is (expected is not None)
        if expected is None:
            with pytest.raises(WorkflowError) as refused:
                workflow.claim_evaluation(evaluation, action, expected_version=version)
            assert refused.value.http_status == 409
            db.session.rollback()
        else:
            assert workflow.claim_evaluation(evaluation, action, expected_version=version) is expected
            db.session.commit()
        db.session.expire_all()
        assert db.session.get(Evaluation, evaluation_id).version == (
            version if expected is None else version + 1
        )


def test_of_two_people_closing_the_same_version_the_second_is_told_someone_came_first(app, scoring_world):
    evaluation_id = evaluation_world.add_evaluation(app, scoring_world)
    with app.test_request_context():
        evaluation = db.session.get(Evaluation, evaluation_id)
        version = evaluation.version
        workflow.claim_evaluation(evaluation, EvaluationAction.close, expected_version=version)
        db.session.commit()
        evaluation = db.session.get(Evaluation, evaluation_id)
        with pytest.raises(workflow.StaleError):
            workflow.claim_evaluation(evaluation, EvaluationAction.close, expected_version=version)


def test_a_scorecard_is_not_reopened_once_its_evaluation_closed_in_the_meantime(app, scoring_world):
    world = scoring_world
    evaluation_id = evaluation_world.add_evaluation(app, world)
    card_id = evaluation_world.add_scorecard(
        app, evaluation_id, world.users["union1"], ScorerGroup.workers, all_criteria=True
    )
    with app.test_request_context():
        card = db.session.get(Scorecard, card_id)
        evaluation = card.evaluation
        assert evaluation.status is EvaluationStatus.open  # as the specialist's page read it
        db.session.execute(
            sa.update(Evaluation)
            .where(Evaluation.id == evaluation_id)
            .values(
                status=EvaluationStatus.closed,
                closed_by_id=world.users["specialist"],
                closed_at=utcnow(),
                version=Evaluation.version + 1,
            )
            .execution_options(synchronize_session=False)  # another request's change
        )
        with pytest.raises(workflow.StaleError):
            workflow.claim_scorecard(
                card, ScorecardAction.reopen, evaluation=evaluation, expected_version=card.version
            )
