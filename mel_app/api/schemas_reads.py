"""What the status grid, the ILO's responses to design input and the evaluations return, as
marshmallow schemas (and so in the OpenAPI document); the conventions are those of schemas.py.

A part the pages do not show the token's owner is `null` here (not an empty list), so that a
client can tell "hidden from you" from "there is none".
"""

from __future__ import annotations

from marshmallow import Schema, fields

from mel_app.api.schemas import Organisation, Page, PageArgs, _id_filter, _Identified, _one_of
from mel_app.models import (
    ActionStatus,
    DesignItemKind,
    Disposition,
    EvaluationKind,
    EvaluationStatus,
    OrgGroup,
    ResponseKind,
    ScorecardStatus,
    ScorerGroup,
    Status,
    Visibility,
)
from mel_app.projects.grid import CellStatus


def _hidden_when(what: str) -> dict[str, str]:
    return {"description": f"`null` when the pages do not show it to you: {what}."}


# --- the reporting status grid --------------------------------------------------------------------


class Named(_Identified):
    name = fields.String()


class GridOrganisation(Named):
    group = _one_of(OrgGroup)


class GridPeriod(_Identified):
    label = fields.String()
    due_date = fields.Date()


class GridCell(Schema):
    period_id = fields.Integer()
    status = _one_of(
        CellStatus,
        metadata={
            "description": "What the cell says. `overdue`: the due date has passed without a "
            "submitted or approved report, whatever the state of a draft or returned one."
        },
    )
    overdue = fields.Boolean()
    submission_status = _one_of(
        Status,
        allow_none=True,
        metadata={
            "description": "The state of the organisation's report for the period (also under "
            "`overdue`); `null` when there is none (a withdrawn report counts as none)."
        },
    )
    submission_id = fields.Integer(
        allow_none=True,
        metadata={"description": "The report, when you may open it (GET /submissions/{id}); else `null`."},
    )


class GridRow(Schema):
    organisation = fields.Nested(GridOrganisation)
    cells = fields.List(fields.Nested(GridCell), metadata={"description": "One per period, in their order."})


class StatusGrid(Schema):
    project_id = fields.Integer()
    as_of = fields.Date(metadata={"description": "The day (UTC) on which due and overdue are judged."})
    partial = fields.Boolean(
        metadata={"description": "True when you see your own organisation's row only (reporters)."}
    )
    periods = fields.List(fields.Nested(GridPeriod), metadata={"description": "Oldest first."})
    rows = fields.List(
        fields.Nested(GridRow),
        metadata={"description": "One per partner organisation that reports, by name."},
    )


# --- the ILO's responses to design input ----------------------------------------------------------


class ItemResponse(Schema):
    disposition = _one_of(Disposition)
    reason = fields.String()
    responded_by = fields.String(allow_none=True, metadata={"description": "Who recorded it (name)."})
    responded_at = fields.DateTime(allow_none=True)


class DesignItem(_Identified):
    position = fields.Integer()
    kind = _one_of(DesignItemKind)
    text = fields.String()
    result_id = fields.Integer(allow_none=True, metadata={"description": "The result it is about, if any."})
    indicator_id = fields.Integer(
        allow_none=True, metadata={"description": "The indicator it is about, if any."}
    )
    response = fields.Nested(
        ItemResponse,
        allow_none=True,
        metadata={"description": "The ILO's response to the item; `null` until one is recorded."},
    )


class SubmissionComment(_Identified):
    author = fields.String(metadata={"description": "Name."})
    created_at = fields.DateTime()
    body = fields.String()
    section = fields.String(allow_none=True, metadata={"description": "What it is about, if given."})
    visibility = _one_of(
        Visibility,
        metadata={"description": "`internal`: an ILO-internal note, for specialists and administrators."},
    )


class DesignInputResponses(Schema):
    submission_id = fields.Integer()
    status = _one_of(Status)
    version = fields.Integer()
    items = fields.List(fields.Nested(DesignItem), metadata={"description": "In the organisation's order."})
    comments = fields.List(
        fields.Nested(SubmissionComment),
        allow_none=True,
        metadata=_hidden_when(
            "the conversation between the ILO and the organisation is for specialists, "
            "administrators and the organisation's reporters"
        ),
    )


# --- evaluations -----------------------------------------------------------------------------------


class EvaluationArgs(PageArgs):
    project = _id_filter()
    status = _one_of(EvaluationStatus, load_default=None)


class EvaluationSummary(_Identified):
    project_id = fields.Integer()
    project_reference = fields.String()
    kind = _one_of(EvaluationKind)
    title = fields.String()
    status = _one_of(EvaluationStatus)
    deadline = fields.Date(allow_none=True)
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


class EvaluationPage(Page):
    items = fields.List(fields.Nested(EvaluationSummary))


class EvaluationScalePoint(Schema):
    value = fields.Integer()
    label = fields.String()


class EvaluationScale(Named):
    points = fields.List(fields.Nested(EvaluationScalePoint))


class EvaluationCriterion(_Identified):
    code = fields.String()
    name = fields.String()
    guiding_question = fields.String()


class OwnScorecard(_Identified):
    status = _one_of(ScorecardStatus)
    submitted_at = fields.DateTime(allow_none=True)


class ScorecardSummary(OwnScorecard):
    scorer = fields.String(metadata={"description": "Name."})
    group = _one_of(ScorerGroup)


class ScoreStats(Schema):
    n = fields.Integer(metadata={"description": "Points given (“cannot assess” answers are counted apart)."})
    mean = fields.Float(allow_none=True)
    median = fields.Float(allow_none=True)
    stdev = fields.Float(
        allow_none=True, metadata={"description": "Sample standard deviation; `null` below two points."}
    )
    minimum = fields.Integer(allow_none=True)
    maximum = fields.Integer(allow_none=True)
    cannot_assess = fields.Integer()


class GroupStats(ScoreStats):
    group = _one_of(ScorerGroup)


class CriterionResults(Schema):
    criterion_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    overall = fields.Nested(ScoreStats)
    groups = fields.List(
        fields.Nested(GroupStats), metadata={"description": "Each group that scored it, side by side."}
    )
    divergence = fields.Float(
        allow_none=True,
        metadata={"description": "The largest gap between two groups' means; `null` below two groups."},
    )
    divergent = fields.Boolean(metadata={"description": "Two groups' means are 2 points or more apart."})


class Participation(Schema):
    group = _one_of(ScorerGroup)
    invited = fields.Integer()
    submitted = fields.Integer()


class IndividualScore(Schema):
    criterion_id = fields.Integer()
    point = fields.Integer(allow_none=True)
    cannot_assess = fields.Boolean()
    justification = fields.String()


class IndividualScorecard(Schema):
    scorecard_id = fields.Integer()
    scorer = fields.String(metadata={"description": "Name."})
    group = _one_of(ScorerGroup)
    scores = fields.List(fields.Nested(IndividualScore))


class EvaluationResults(Schema):
    participation = fields.List(fields.Nested(Participation), metadata={"description": "Who scored."})
    groups = fields.List(
        _one_of(ScorerGroup), metadata={"description": "The groups with a submitted scorecard, in order."}
    )
    criteria = fields.List(
        fields.Nested(CriterionResults), metadata={"description": "Of the submitted scorecards only."}
    )
    individuals = fields.List(
        fields.Nested(IndividualScorecard),
        allow_none=True,
        metadata=_hidden_when("the scores by name are for the project's evaluators and specialists"),
    )


class ManagementResponse(Schema):
    response = _one_of(ResponseKind)
    planned_action = fields.String()
    due_date = fields.Date(allow_none=True)
    action_status = _one_of(ActionStatus, allow_none=True)


class EvaluationRecommendation(_Identified):
    position = fields.Integer()
    text = fields.String()
    addressed_organisation = fields.Nested(
        Organisation,
        allow_none=True,
        metadata={"description": "The partner organisation it is addressed to, if any."},
    )
    addressed_to = fields.String(metadata={"description": "Others it is addressed to (free text)."})
    management_response = fields.Nested(
        ManagementResponse, allow_none=True, metadata={"description": "`null` until management responds."}
    )


_BLIND = (
    "scoring is blind, so whoever is invited to score sees no one else's scores before submitting "
    "their own; constituents and observers see the results once the evaluation is closed"
)


class EvaluationDetail(EvaluationSummary):
    criteria_set = fields.Nested(Named)
    scale = fields.Nested(EvaluationScale)
    criteria = fields.List(fields.Nested(EvaluationCriterion))
    own_scorecard = fields.Nested(
        OwnScorecard, allow_none=True, metadata={"description": "Yours, if you are invited to score."}
    )
    scorecards = fields.List(
        fields.Nested(ScorecardSummary),
        allow_none=True,
        metadata=_hidden_when(
            "the list is for the project's specialists, and for its evaluators once their own "
            "scorecard (if they have one) is submitted"
        ),
    )
    results = fields.Nested(EvaluationResults, allow_none=True, metadata=_hidden_when(_BLIND))
    recommendations = fields.List(
        fields.Nested(EvaluationRecommendation),
        allow_none=True,
        metadata=_hidden_when("they are shown beside the results, " + _BLIND),
    )
