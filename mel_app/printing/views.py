"""Printable pages: a report or design input, and an evaluation's consolidated results.

Content only, for paper or PDF: no navigation, no forms. Each page answers exactly as the page it
prints does (same loading, same permission checks, so the same 404 or 403). ILO-internal
comments are printed only for those who may read them, and only when they ask (`?internal=1`);
the request is checked here, never merely hidden by a stylesheet.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mel_app.evaluations.services import load_evaluation
from mel_app.evaluations.views import consolidated_context
from mel_app.models import NARRATIVE_SECTIONS, SubmissionKind, utcnow
from mel_app.permissions import (
    can_see_comments,
    can_see_internal_comments,
    can_view_evaluation,
    can_view_results,
    can_view_submission,
    require,
)
from mel_app.submissions import services

bp = Blueprint("printing", __name__)


def _title(sub) -> str:
    org = sub.organisation.acronym or sub.organisation.name
    if sub.kind is SubmissionKind.progress_report:
        return _("Progress report %(period)s — %(organisation)s", period=sub.period.label, organisation=org)
    return _("Design input — %(organisation)s", organisation=org)


@bp.get("/submissions/<int:sub_id>/print")
def submission(sub_id: int):
    sub = services.load_submission(sub_id)
    if sub is None:
        abort(404)
    require(can_view_submission(current_user, sub))
    report = sub.kind is SubmissionKind.progress_report
    may_include_internal = can_see_internal_comments(current_user, sub)
    include_internal = may_include_internal and request.args.get("internal") == "1"
    comments = None
    if can_see_comments(current_user, sub):
        comments = services.visible_comments(sub, include_internal=include_internal)
    return render_template(
        "printing/submission.html",
        sub=sub,
        title=_title(sub),
        indicators=services.active_indicators(sub.project_id) if report else [],
        values={v.indicator_id: v for v in sub.values},
        attachments=services.live_attachments(sub),
        comments=comments,
        sections=NARRATIVE_SECTIONS,
        include_internal=include_internal,
        may_include_internal=may_include_internal,
        back_url=url_for("submissions.detail", sub_id=sub.id),
        printed_at=utcnow(),
    )


@bp.get("/evaluations/<int:evaluation_id>/results/print")
def results(evaluation_id: int):
    evaluation = load_evaluation(evaluation_id)
    if evaluation is None:
        abort(404)
    require(can_view_evaluation(current_user, evaluation))
    require(can_view_results(current_user, evaluation), visible=True)
    return render_template(
        "printing/results.html",
        **consolidated_context(evaluation),
        back_url=url_for("evaluations.consolidated", evaluation_id=evaluation.id),
        printed_at=utcnow(),
    )
