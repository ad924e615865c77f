"""The evaluation and scorecard state machines (DESIGN.md §2).

    evaluation:  open --close--> closed
    scorecard:   draft --save--> draft --submit--> submitted --reopen--> draft

A scorecard moves only while its evaluation takes scores (it is open). Each change is one
conditional UPDATE (`... WHERE id = :id AND version = :v AND status = :read`, and for a scorecard
AND its evaluation still open): of two people acting at once, the second is told someone came
first, and nothing of theirs is lost. The services write the change itself through the ORM, so
that the audit trail captures it.
"""

from __future__ import annotations

import enum
from typing import NoReturn

import sqlalchemy as sa
from flask_babel import gettext as _

from mel_app import locking
from mel_app.extensions import db
from mel_app.models import Evaluation, EvaluationStatus, Scorecard, ScorecardStatus
from mel_app.workflow.machine import Machine, Transition, WorkflowError, conditional_update


class StaleError(WorkflowError):
    """Someone else changed the evaluation or scorecard since the user loaded it; the message
    says who and when, as every conflict of the app does (`mel_app.locking`)."""


# --- evaluations ----------------------------------------------------------------------------------


class EvaluationAction(enum.StrEnum):
    close = "close"


EVALUATION_TRANSITIONS: dict[EvaluationAction, Transition[EvaluationStatus]] = {
    EvaluationAction.close: Transition(frozenset({EvaluationStatus.open}), EvaluationStatus.closed),
}

# An evaluation takes scores (saving, submitting and reopening scorecards) and invitations while open.
TAKES_SCORES = frozenset({EvaluationStatus.open})


def _evaluation_refusal(status: EvaluationStatus, action: EvaluationAction) -> str:
    return str(_("This evaluation is already closed."))


EVALUATION: Machine[EvaluationStatus, EvaluationAction] = Machine(
    "evaluation", EvaluationStatus, EVALUATION_TRANSITIONS, _evaluation_refusal
)


def takes_scores(status: EvaluationStatus) -> bool:
    return status in TAKES_SCORES


def claim_evaluation(
    evaluation: Evaluation, action: EvaluationAction, *, expected_version: int
) -> EvaluationStatus:
    """Check `action` against the evaluation's state and take its optimistic lock; returns the
    target state for the caller to write. Refuses with WorkflowError (409) or StaleError."""
    target = EVALUATION.target(evaluation.status, action)
    won = conditional_update(
        Evaluation,
        evaluation,
        expected_version=expected_version,
        conditions=(Evaluation.status.in_(EVALUATION_TRANSITIONS[action].sources),),
    )
    if not won:
        _stale(evaluation)
    return target


# --- scorecards -----------------------------------------------------------------------------------


class ScorecardAction(enum.StrEnum):
    save = "save"
    submit = "submit"
    reopen = "reopen"


SCORECARD_TRANSITIONS: dict[ScorecardAction, Transition[ScorecardStatus]] = {
    ScorecardAction.save: Transition(frozenset({ScorecardStatus.draft}), ScorecardStatus.draft),
    ScorecardAction.submit: Transition(frozenset({ScorecardStatus.draft}), ScorecardStatus.submitted),
    ScorecardAction.reopen: Transition(frozenset({ScorecardStatus.submitted}), ScorecardStatus.draft),
}


def _scorecard_refusal(status: ScorecardStatus, action: ScorecardAction) -> str:
    if action is ScorecardAction.reopen:
        return str(_("Only a submitted scorecard can be reopened."))
    return str(_("This scorecard has been submitted. A specialist can reopen it."))


SCORECARD: Machine[ScorecardStatus, ScorecardAction] = Machine(
    "scorecard", ScorecardStatus, SCORECARD_TRANSITIONS, _scorecard_refusal
)


def scorecard_target(
    status: ScorecardStatus, action: ScorecardAction, evaluation_status: EvaluationStatus
) -> ScorecardStatus:
    """The state `action` leads a scorecard to, or a refusal (409): first the evaluation's state
    (closed: no more scores), then the card's."""
    if not takes_scores(evaluation_status):
        if action is ScorecardAction.reopen:
            raise WorkflowError(_("This evaluation is closed."))
        raise WorkflowError(_("This evaluation is closed: it takes no more scores."))
    return SCORECARD.target(status, action)


def scorecard_allowed(
    status: ScorecardStatus, action: ScorecardAction, evaluation_status: EvaluationStatus
) -> bool:
    return takes_scores(evaluation_status) and SCORECARD.allowed(status, action)


def claim_scorecard(
    card: Scorecard, action: ScorecardAction, *, evaluation: Evaluation, expected_version: int
) -> ScorecardStatus:
    """Check `action` against the card's and its evaluation's states and take the card's optimistic
    lock (the evaluation may have been closed since the page was loaded); returns the target state
    for the caller to write. Refuses with WorkflowError (409) or StaleError."""
    target = scorecard_target(card.status, action, evaluation.status)
    won = conditional_update(
        Scorecard,
        card,
        expected_version=expected_version,
        conditions=(
            Scorecard.status.in_(SCORECARD_TRANSITIONS[action].sources),
            sa.exists().where(Evaluation.id == evaluation.id, Evaluation.status.in_(TAKES_SCORES)),
        ),
    )
    if not won:
        _stale(card)
    return target


def _stale(obj: Evaluation | Scorecard) -> NoReturn:
    message = str(locking.last_change(obj))
    db.session.expire(obj)
    raise StaleError(message)
