"""What users read for every enumeration member, defined once for every page, form, history and file.

Templates write `{{ value|label }}`; Python code calls `label(value)` or reads `LABELS[Enum]` (in
the enum's order, for choices). Labels are lazy: they are translated when they are rendered. A
test checks that every member of every enumeration here and in `mel_app.models` has a label.
"""

from __future__ import annotations

import enum
from typing import Any

from flask_babel import lazy_gettext as _l

from mel_app.models import (
    ActionStatus,
    Aggregation,
    DesignItemKind,
    Disposition,
    EvaluationKind,
    EvaluationStatus,
    FundingModality,
    IloRegion,
    Measure,
    OrgGroup,
    Phase,
    ResponseKind,
    ResultType,
    Role,
    RoundStatus,
    ScorecardStatus,
    ScorerGroup,
    Status,
    StoryLevel,
    SubmissionKind,
    SubstantiationVerdict,
    TagScheme,
    Visibility,
)
from mel_app.models.notification import DeliveryMode, NotificationKind, OutboxStatus
from mel_app.notifications.preferences import KIND_LABELS, MODE_LABELS
from mel_app.projects.grid import CellStatus
from mel_app.projects.periods import Frequency
from mel_app.workflow import labels as state_labels

LABELS: dict[type[enum.Enum], dict[Any, Any]] = {
    Aggregation: {
        Aggregation.sum: _l("Sum of the organisations' values"),
        Aggregation.mean: _l("Mean of the organisations' values"),
        Aggregation.responsible: _l("The responsible organisation's value"),
        Aggregation.all_yes: _l("Yes only when every organisation says yes"),
        Aggregation.any_yes: _l("Yes when any organisation says yes"),
        Aggregation.listed: _l("Each organisation's answer, listed"),
    },
    ActionStatus: {
        ActionStatus.not_started: _l("Not started"),
        ActionStatus.in_progress: _l("In progress"),
        ActionStatus.completed: _l("Completed"),
        ActionStatus.cancelled: _l("Cancelled"),
    },
    CellStatus: {
        CellStatus.not_started: _l("Not started"),
        CellStatus.draft: _l("Draft"),
        CellStatus.submitted: _l("Submitted"),
        CellStatus.returned: _l("Returned"),
        CellStatus.approved: _l("Approved"),
        CellStatus.overdue: _l("Overdue"),
    },
    DesignItemKind: {
        DesignItemKind.need: _l("Need or priority"),
        DesignItemKind.proposed_outcome: _l("Proposed outcome"),
        DesignItemKind.proposed_indicator: _l("Proposed indicator"),
        DesignItemKind.risk: _l("Risk or assumption"),
        DesignItemKind.comment: _l("Comment"),
    },
    Disposition: {
        Disposition.incorporated: _l("Incorporated"),
        Disposition.partly: _l("Partly incorporated"),
        Disposition.not_incorporated: _l("Not incorporated"),
    },
    EvaluationKind: {
        EvaluationKind.mid_term: _l("Mid-term evaluation"),
        EvaluationKind.final: _l("Final evaluation"),
        EvaluationKind.internal_review: _l("Internal review"),
        EvaluationKind.self_assessment: _l("Self-assessment"),
    },
    EvaluationStatus: dict(state_labels.EVALUATION_STATUS),
    Frequency: {
        Frequency.quarterly: _l("Quarterly"),
        Frequency.half_yearly: _l("Half-yearly"),
        Frequency.yearly: _l("Yearly"),
    },
    # ILO funding sources, known by their acronyms in every language.
    FundingModality: {m: m.value for m in FundingModality},
    Measure: {
        Measure.number: _l("Number"),
        Measure.percentage: _l("Percentage"),
        Measure.yes_no: _l("Yes/no"),
        Measure.qualitative: _l("Qualitative"),
    },
    OrgGroup: {
        OrgGroup.workers: _l("Workers"),
        OrgGroup.employers: _l("Employers"),
        OrgGroup.government: _l("Government"),
        OrgGroup.ilo: _l("ILO"),
        OrgGroup.donor: _l("Donor"),
        OrgGroup.other: _l("Other"),
    },
    Phase: {
        Phase.design: _l("Design"),
        Phase.implementation: _l("Implementation"),
        Phase.closed: _l("Closed"),
    },
    ResponseKind: {
        ResponseKind.accepted: _l("Accepted"),
        ResponseKind.partially_accepted: _l("Partially accepted"),
        ResponseKind.rejected: _l("Rejected"),
    },
    SubstantiationVerdict: {
        SubstantiationVerdict.fully: _l("Agrees fully"),
        SubstantiationVerdict.partly: _l("Agrees partly"),
        SubstantiationVerdict.not_at_all: _l("Does not agree"),
    },
    TagScheme: {
        TagScheme.dwcp: _l("Decent Work Country Programme outcome"),
        TagScheme.pb: _l("ILO Programme and Budget outcome"),
        TagScheme.sdg: _l("SDG target"),
    },
    ResultType: {
        ResultType.impact: _l("Impact"),
        ResultType.outcome: _l("Outcome"),
        ResultType.output: _l("Output"),
    },
    Role: {
        Role.specialist: _l("ACTRAV specialist"),
        Role.reporter: _l("Reporter"),
        Role.evaluator: _l("Evaluator"),
        Role.observer: _l("Observer"),
    },
    ScorecardStatus: dict(state_labels.SCORECARD_STATUS),
    ScorerGroup: {
        ScorerGroup.workers: _l("Workers"),
        ScorerGroup.employers: _l("Employers"),
        ScorerGroup.government: _l("Government"),
        ScorerGroup.ilo: _l("ILO"),
        ScorerGroup.independent: _l("Independent evaluators"),
    },
    Status: dict(state_labels.STATUS),
    SubmissionKind: {
        SubmissionKind.progress_report: _l("Progress report"),
        SubmissionKind.design_input: _l("Design input"),
    },
    Visibility: {
        Visibility.shared: _l("Shared with the organisation"),
        Visibility.internal: _l("ILO internal"),
    },
    StoryLevel: {
        StoryLevel.project: _l("Project level"),
        StoryLevel.regional: _l("Regional level"),
        StoryLevel.actrav: _l("ACTRAV level"),
    },
    IloRegion: {
        IloRegion.africa: _l("Africa"),
        IloRegion.americas: _l("Americas"),
        IloRegion.arab_states: _l("Arab States"),
        IloRegion.asia_pacific: _l("Asia and the Pacific"),
        IloRegion.europe_central_asia: _l("Europe and Central Asia"),
    },
    RoundStatus: {
        RoundStatus.open: _l("Open"),
        RoundStatus.closed: _l("Closed"),
    },
}

# Notifications: the kinds and modes read on the preferences page are defined beside it.
LABELS.update(
    {
        NotificationKind: dict(KIND_LABELS),
        DeliveryMode: dict(MODE_LABELS),
        OutboxStatus: {
            OutboxStatus.queued: _l("Queued"),
            OutboxStatus.sending: _l("Sending"),
            OutboxStatus.sent: _l("Sent"),
            OutboxStatus.failed: _l("Failed"),
        },
    }
)

_BY_NAME = {cls.__name__: cls for cls in LABELS}


def label(value: Any, of: str | None = None) -> str:
    """The member's label in the user's language. `of` names the enumeration when the value is
    its stored text (a snapshot, a JSON document); anything that is not a member shows as text."""
    if value is None:
        return ""
    if of is not None and not isinstance(value, enum.Enum):
        try:
            value = _BY_NAME[of](value)
        except ValueError:
            return str(value)
    labels = LABELS.get(type(value))
    if labels is None or value not in labels:
        return str(value)
    return str(labels[value])
