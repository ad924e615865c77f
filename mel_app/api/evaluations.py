"""Evaluations, as their pages show them to the token's owner: the list of the evaluations of
their projects, and one evaluation with its consolidated results and recommendations.

The same loaders as the pages (mel_app/evaluations/services.py) and the same rules: blind
scoring (whoever is invited to score reads no one else's scores, nor figures made of them,
before their own card is submitted), the scores by name for evaluators and specialists only,
and the results for constituents and observers once the evaluation is closed.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import joinedload

from mel_app.api import schemas_reads
from mel_app.api.dump import attributes
from mel_app.api.reads import _page
from mel_app.api.views import READ, api_user, bp, scope
from mel_app.evaluations import queries, services
from mel_app.models import Evaluation, Recommendation, Scorecard, ScorerGroup, User
from mel_app.permissions import (
    can_view_evaluation,
    can_view_individual_scores,
    can_view_results,
    can_view_scorers,
    visible_evaluation_filter,
)


def _summary(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "id": evaluation.id,
        "project_id": evaluation.project_id,
        "project_reference": evaluation.project.reference,
        "kind": evaluation.kind,
        "title": evaluation.title,
        "status": evaluation.status,
        "deadline": evaluation.deadline,
        "opened_at": evaluation.opened_at,
        "closed_at": evaluation.closed_at,
        "updated_at": evaluation.updated_at,
    }


@bp.get("/evaluations")
@bp.arguments(schemas_reads.EvaluationArgs, location="query")
@bp.response(200, schemas_reads.EvaluationPage)
@scope(READ)
def evaluations(args):
    """The evaluations of the projects you may see, oldest first (by opening).

    Filters: `project`, `status` (open, closed)."""
    query = (
        sa.select(Evaluation)
        .where(visible_evaluation_filter(api_user()))
        .options(joinedload(Evaluation.project))
    )
    if args["project"]:
        query = query.where(Evaluation.project_id == args["project"])
    if args["status"]:
        query = query.where(Evaluation.status == args["status"])
    return _page(query, args, key_column=Evaluation.opened_at, id_column=Evaluation.id, out=_summary)


def _scorecard(card: Scorecard) -> dict[str, Any]:
    return {**attributes(card, "id", "group", "status", "submitted_at"), "scorer": card.scorer.display_name}


def _criterion(results: services.Results, criterion: Any) -> dict[str, Any]:
    summary = results.summary(criterion.id)
    return {
        "criterion_id": criterion.id,
        "code": criterion.code,
        "name": criterion.name,
        "overall": summary.overall,
        # The groups side by side, in the order of the consolidated page.
        "groups": [
            {"group": group, **asdict(summary.groups[group])}
            for group in results.groups
            if group in summary.groups
        ],
        "divergence": summary.divergence,
        "divergent": summary.is_divergent,
    }


def _individuals(results: services.Results) -> list[dict[str, Any]] | None:
    if results.individuals is None:
        return None
    return [
        {
            "scorecard_id": card_id,
            "scorer": name,
            "group": group,
            "scores": [scores[c.id] for c in results.criteria if c.id in scores],
        }
        for card_id, name, group, scores in results.scorers
    ]


def _results(evaluation: Evaluation, user: User) -> dict[str, Any]:
    results = services.consolidated_results(
        evaluation, with_individuals=can_view_individual_scores(user, evaluation)
    )
    return {
        "participation": [
            {"group": group, "invited": results.invited[group], "submitted": results.submitted.get(group, 0)}
            for group in ScorerGroup
            if results.invited.get(group)
        ],
        "groups": results.groups,
        "criteria": [_criterion(results, c) for c in results.criteria],
        "individuals": _individuals(results),
    }


def _recommendation(rec: Recommendation) -> dict[str, Any]:
    response = None
    if rec.response is not None:
        response = attributes(rec, "response", "planned_action", "due_date", "action_status")
    return {
        **attributes(rec, "id", "position", "text", "addressed_organisation", "addressed_to"),
        "management_response": response,
    }


@bp.get("/evaluations/<int:evaluation_id>")
@bp.response(200, schemas_reads.EvaluationDetail)
@scope(READ)
def evaluation(evaluation_id: int):
    """One evaluation: its criteria and scale, your own scorecard's state, and what its pages
    show you of the scorecards, the consolidated results and the recommendations.

    The results give every group's figures side by side for each criterion (of the submitted
    scorecards only), and the scores by name to evaluators and specialists. A part the pages hide
    from you is `null`: while your own scorecard is not submitted you see no one else's scores
    (blind scoring), and constituents and observers see the results once it is closed."""
    user = api_user()
    found = services.load_evaluation(evaluation_id)
    if found is None or not can_view_evaluation(user, found):
        abort(404)
    shows_results = can_view_results(user, found)
    return {
        **_summary(found),
        "criteria_set": found.criteria_set,
        "scale": found.scale,
        "criteria": found.criteria_set.criteria,
        "own_scorecard": services.load_scorecard(found.id, user.id),
        "scorecards": [_scorecard(c) for c in queries.scorecards_of(found)]
        if can_view_scorers(user, found)
        else None,
        "results": _results(found, user) if shows_results else None,
        "recommendations": [_recommendation(r) for r in queries.recommendations_of(found)]
        if shows_results
        else None,
    }
