"""The state machines of the app (DESIGN.md §2–3) — the only place that knows their transitions.

Three machines, each a declarative table `Action -> Transition(sources, target)` (machine.py):

- submissions (design input and progress reports): `submission.py`;
- evaluations and their scorecards: `evaluation.py`.

Every transition is one conditional UPDATE (`machine.conditional_update`): of two people acting
on the same version exactly one wins. A refusal is a `WorkflowError`: 409 when the state does
not allow the action. Who may act is asked of `mel_app.permissions`, not of this package.
"""

from __future__ import annotations

from mel_app.workflow.evaluation import (
    EVALUATION,
    EVALUATION_TRANSITIONS,
    SCORECARD,
    SCORECARD_TRANSITIONS,
    TAKES_SCORES,
    EvaluationAction,
    ScorecardAction,
    StaleError,
    claim_evaluation,
    claim_scorecard,
    scorecard_allowed,
    scorecard_target,
    takes_scores,
)
from mel_app.workflow.machine import Machine, Transition, WorkflowError, conditional_update
from mel_app.workflow.submission import (
    EDITABLE,
    LIVE,
    RESPONDABLE,
    SUBMISSION,
    TRANSITIONS,
    Action,
    WorkflowConflict,
    allowed,
    check_editable,
    claim_edit,
    is_editable,
    last_change,
    transition,
)

__all__ = [
    "EDITABLE",
    "EVALUATION",
    "EVALUATION_TRANSITIONS",
    "LIVE",
    "RESPONDABLE",
    "SCORECARD",
    "SCORECARD_TRANSITIONS",
    "SUBMISSION",
    "TAKES_SCORES",
    "TRANSITIONS",
    "Action",
    "EvaluationAction",
    "Machine",
    "ScorecardAction",
    "StaleError",
    "Transition",
    "WorkflowConflict",
    "WorkflowError",
    "allowed",
    "check_editable",
    "claim_edit",
    "claim_evaluation",
    "claim_scorecard",
    "conditional_update",
    "is_editable",
    "last_change",
    "scorecard_allowed",
    "scorecard_target",
    "takes_scores",
    "transition",
]
