"""Participatory evaluations: open, invite, score, close, consolidate, recommend and respond."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from mel_app import confirmation, locking
from mel_app.evaluations import downloads, queries, services
from mel_app.evaluations.chart import group_chart
from mel_app.evaluations.forms import (
    CANNOT_ASSESS,
    GROUP_LABELS,
    CloseEvaluationForm,
    EvaluationForm,
    InviteForm,
    RecommendationForm,
    ReopenScorecardForm,
    ResponseForm,
    scorecard_form,
)
from mel_app.evaluations.services import Answer, ConflictError, EvaluationError
from mel_app.kit.confirming import before_confirmation
from mel_app.kit.web import CSV, download, get_or_404, paginate, project_or_404, saving
from mel_app.models import (
    ActionStatus,
    CriteriaSet,
    Evaluation,
    EvaluationKind,
    Recommendation,
    ResponseKind,
    Scale,
    Scorecard,
    ScorerGroup,
)
from mel_app.partners import partner_organisations
from mel_app.permissions import (
    can_add_recommendation,
    can_close_evaluation,
    can_edit_recommendation,
    can_invite_scorers,
    can_manage_evaluation,
    can_open_evaluation,
    can_respond_to_recommendation,
    can_score,
    can_view_evaluation,
    can_view_individual_scores,
    can_view_named_scores,
    can_view_results,
    can_view_scorecard,
    can_view_scorers,
    may_score,
    require,
)

bp = Blueprint("evaluations", __name__)


@bp.app_template_filter("score_number")
def score_number(value: float | None, digits: int = 2) -> str:
    """A statistic in the user's locale, or an en dash when there is none."""
    if value is None:
        return "–"
    return format_decimal(value, format="0." + "0" * digits if digits else "0")


@bp.app_template_global()
def has_endpoint(name: str) -> bool:
    """Links to other features' pages only where those features are installed."""
    return name in current_app.view_functions


def _evaluation_or_404(evaluation_id: int) -> Evaluation:
    evaluation = services.load_evaluation(evaluation_id)
    if evaluation is None:
        require(False)
    require(can_view_evaluation(current_user, evaluation))
    return evaluation


# --- lists --------------------------------------------------------------------------------------


@bp.get("/evaluations")
def index():
    """The evaluations of the user's projects, newest first."""
    page = paginate(queries.visible_evaluations(current_user))
    return render_template("evaluations/index.html", page=page, project=None)


@bp.get("/projects/<int:project_id>/evaluations")
def project_index(project_id: int):
    project = project_or_404(project_id)
    page = paginate(queries.project_evaluations(project))
    return render_template("evaluations/index.html", page=page, project=project)


# --- opening, inviting, closing -------------------------------------------------------------------


def _fill_choices(form: EvaluationForm | InviteForm, candidates: services.Candidates) -> None:
    form.evaluators.choices = [SelectChoice(u.id, u.display_name) for u in candidates.evaluators]
    form.ilo_staff.choices = [SelectChoice(u.id, u.display_name) for u in candidates.ilo_staff]
    form.organisations.choices = [
        SelectChoice(
            o.id,
            _(
                "%(org)s — %(group)s, %(n)d reporter(s)",
                org=o.label,
                group=GROUP_LABELS[services.ORG_TO_SCORER_GROUP[o.group]],
                n=len(candidates.reporters.get(o.id, [])),
            ),
        )
        for o in candidates.organisations
    ]


@bp.route("/projects/<int:project_id>/evaluations/new", methods=["GET", "POST"])
def new(project_id: int):
    project = project_or_404(project_id)
    require(can_open_evaluation(current_user, project), visible=True)
    form = EvaluationForm()
    sets = queries.all_of(queries.criteria_sets())
    scales = queries.all_of(queries.scales())
    form.criteria_set_id.choices = [SelectChoice(s.id, s.name) for s in sets]
    form.scale_id.choices = [SelectChoice(s.id, s.name) for s in scales]
    candidates = services.invitation_candidates(project)
    _fill_choices(form, candidates)
    if request.method == "GET" and not form.kind.data:
        form.kind.data = EvaluationKind.mid_term.value
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("evaluations/new.html", project=project, form=form), status
    with saving(
        _("The evaluation is open. The people invited see it in their tasks."), catch=EvaluationError
    ) as saved:
        evaluation = services.open_evaluation(
            project,
            actor=current_user,
            kind=EvaluationKind(form.kind.data),
            title=form.title.data,
            criteria_set=get_or_404(CriteriaSet, form.criteria_set_id.data),
            scale=get_or_404(Scale, form.scale_id.data),
            deadline=form.deadline.data,
            evaluator_ids=form.evaluators.data or [],
            organisation_ids=form.organisations.data or [],
            ilo_staff_ids=form.ilo_staff.data or [],
        )
    if saved.failed:
        return render_template("evaluations/new.html", project=project, form=form), 422
    return redirect(url_for("evaluations.detail", evaluation_id=evaluation.id))


@bp.get("/evaluations/<int:evaluation_id>")
def detail(evaluation_id: int):
    evaluation = _evaluation_or_404(evaluation_id)
    return _render_detail(evaluation)


def _render_detail(evaluation: Evaluation, status: int = 200, **forms: Any):
    own_card = services.load_scorecard(evaluation.id, current_user.id)
    scorecards: list[Scorecard] = []
    if can_view_scorers(current_user, evaluation):
        scorecards = queries.scorecards_of(evaluation)
    recommendations: list[Recommendation] = []
    if can_view_results(current_user, evaluation):
        recommendations = queries.recommendations_of(evaluation)
    invite_form = forms.get("invite_form")
    if invite_form is None and can_invite_scorers(current_user, evaluation):
        invite_form = InviteForm(formdata=None)
        _fill_choices(invite_form, services.invitation_candidates(evaluation.project))
    return render_template(
        "evaluations/detail.html",
        evaluation=evaluation,
        own_card=own_card,
        scorecards=scorecards,
        recommendations=recommendations,
        invite_form=invite_form,
        recommendation_form=forms.get("recommendation_form")
        or RecommendationForm(formdata=None, partners=partner_organisations(evaluation.project_id)),
    ), status


@bp.post("/evaluations/<int:evaluation_id>/invite")
def invite(evaluation_id: int):
    evaluation = _evaluation_or_404(evaluation_id)
    require(can_manage_evaluation(current_user, evaluation), visible=True)
    form = InviteForm()
    _fill_choices(form, services.invitation_candidates(evaluation.project))
    if not form.validate_on_submit():
        return _render_detail(evaluation, 422, invite_form=form)
    with saving(catch=EvaluationError) as saved:
        cards = services.invite_more_scorers(
            evaluation,
            actor=current_user,
            evaluator_ids=form.evaluators.data or [],
            organisation_ids=form.organisations.data or [],
            ilo_staff_ids=form.ilo_staff.data or [],
        )
    if saved.failed:
        return _render_detail(services.load_evaluation(evaluation_id), 409, invite_form=form)
    if cards:
        flash(_("%(n)d more people invited to score.", n=len(cards)), "success")
    else:
        flash(_("Everyone chosen was already invited."), "warning")
    return redirect(url_for("evaluations.detail", evaluation_id=evaluation.id))


def _confirm_close_page(evaluation: Evaluation, form: CloseEvaluationForm, status: int = 200):
    submitted, total = queries.scorecard_counts(evaluation)
    consequences = [
        _(
            "%(submitted)d of %(total)d scorecards are submitted; the %(missing)d others will be left "
            "out of the results, and their scorers can no longer submit them.",
            submitted=submitted,
            total=total,
            missing=total - submitted,
        ),
        _("The project's constituents and observers can then read the consolidated results."),
        _("A closed evaluation cannot be opened again."),
    ]
    return confirmation.render_confirmation(
        title=_("Close %(title)s?", title=evaluation.title),
        context=f"{evaluation.project.reference} — {evaluation.project.title}",
        lead=_("Closing ends the scoring of this evaluation."),
        consequences=consequences,
        form=form,
        yes=_("Yes, close the evaluation"),
        cancel_url=url_for("evaluations.detail", evaluation_id=evaluation.id),
        status=status,
    )


@bp.route("/evaluations/<int:evaluation_id>/close", methods=["GET", "POST"])
def close(evaluation_id: int):
    """GET: the confirmation page. POST (from that page): close the evaluation."""
    evaluation = _evaluation_or_404(evaluation_id)
    require(can_manage_evaluation(current_user, evaluation), visible=True)
    answered = before_confirmation(
        allowed=lambda: can_close_evaluation(current_user, evaluation),
        refusal=lambda: _("This evaluation is closed already."),
        back=url_for("evaluations.detail", evaluation_id=evaluation.id),
        page=lambda: _confirm_close_page(
            evaluation, CloseEvaluationForm(formdata=None, version=evaluation.version)
        ),
    )
    if answered is not None:
        return answered
    form = CloseEvaluationForm()
    if not form.validate_on_submit():
        return _confirm_close_page(evaluation, form, 400)
    with saving(_("The evaluation is closed: it takes no more scores."), catch=EvaluationError) as saved:
        services.close_evaluation(evaluation, actor=current_user, expected_version=form.version.data)
    if saved.failed:
        return _render_detail(services.load_evaluation(evaluation_id), 409)
    return redirect(url_for("evaluations.detail", evaluation_id=evaluation.id))


# --- scorecards ---------------------------------------------------------------------------------


def _answers(form: Any, criteria: list[Any]) -> dict[int, Answer]:
    answers = {}
    for criterion in criteria:
        raw = form[f"point_{criterion.id}"].data
        answers[criterion.id] = Answer(
            point=int(raw) if raw and raw != CANNOT_ASSESS else None,
            cannot_assess=raw == CANNOT_ASSESS,
            justification=form[f"justification_{criterion.id}"].data or "",
            evidence=services.parse_evidence(form[f"evidence_{criterion.id}"].data or []),
        )
    return answers


def _missing_answers(form: Any, criteria: list[Any], answers: dict[int, Answer]) -> bool:
    """Put an error on every unanswered or unjustified criterion; True if there was one."""
    missing = False
    for criterion in criteria:
        answer = answers[criterion.id]
        if not answer.is_answered:
            form[f"point_{criterion.id}"].errors = [_("Choose a point or “cannot assess”.")]
            missing = True
        if not answer.justification.strip():
            form[f"justification_{criterion.id}"].errors = [_("Give a justification.")]
            missing = True
    return missing


def _render_scorecard(
    evaluation: Evaluation,
    card: Scorecard,
    form: Any,
    status: int = 200,
    evidence: list[services.EvidenceChoice] | None = None,
):
    if evidence is None:
        evidence = services.evidence_choices(evaluation.project_id)
    evidence_labels = {c.key: c.label for c in evidence}
    return render_template(
        "evaluations/scorecard.html",
        evaluation=evaluation,
        card=card,
        form=form,
        editable=can_score(current_user, card),
        reopening=services.last_reopening(card),
        scores={s.criterion_id: s for s in card.scores},
        evidence_labels=evidence_labels,
        evidence_key=services.evidence_key,
    ), status


@bp.route("/evaluations/<int:evaluation_id>/scorecard", methods=["GET", "POST"])
def scorecard(evaluation_id: int):
    """The current user's own scorecard."""
    evaluation = _evaluation_or_404(evaluation_id)
    card = services.load_scorecard(evaluation.id, current_user.id)
    require(card is not None, visible=True)
    criteria = list(evaluation.criteria_set.criteria)
    evidence = services.evidence_choices(evaluation.project_id)
    if request.method == "GET":
        data: dict[str, Any] = {"version": card.version}
        for score in card.scores:
            data[f"point_{score.criterion_id}"] = (
                CANNOT_ASSESS if score.cannot_assess else (str(score.point) if score.point else None)
            )
            data[f"justification_{score.criterion_id}"] = score.justification
            data[f"evidence_{score.criterion_id}"] = [services.evidence_key(r) for r in score.evidence or []]
        form = scorecard_form(criteria, evaluation.scale.points, evidence, formdata=None, data=data)
        return _render_scorecard(evaluation, card, form, evidence=evidence)

    form = scorecard_form(criteria, evaluation.scale.points, evidence)
    require(may_score(current_user, card), visible=True)
    try:
        services.check_scorecard_state(card, submit=bool(form.submit_card.data))
    except EvaluationError as exc:
        flash(str(exc), "error")
        return _render_scorecard(evaluation, card, form, 409, evidence)
    if not form.validate_on_submit():
        return _render_scorecard(evaluation, card, form, 422, evidence)
    submit = bool(form.submit_card.data)
    answers = _answers(form, criteria)
    if submit and _missing_answers(form, criteria, answers):
        flash(
            _("Give every criterion a point or “cannot assess”, and a justification, before submitting."),
            "error",
        )
        return _render_scorecard(evaluation, card, form, 422, evidence)
    with saving(catch=EvaluationError) as saved:
        services.save_scorecard(
            card, actor=current_user, expected_version=form.version.data, answers=answers, submit=submit
        )
    if saved.failed:
        evaluation = services.load_evaluation(evaluation_id)
        card = services.load_scorecard(evaluation_id, current_user.id)
        if isinstance(saved.error, ConflictError):
            # Keep the user's answers; the next save is made against what is stored now.
            form.version.set(card.version)
        return _render_scorecard(evaluation, card, form, 409, evidence)
    if submit:
        flash(_("Your scorecard is submitted. Thank you."), "success")
        return redirect(url_for("evaluations.detail", evaluation_id=evaluation.id))
    flash(_("Draft saved."), "success")
    return redirect(url_for("evaluations.scorecard", evaluation_id=evaluation.id))


def _others_scorecard(evaluation: Evaluation, card_id: int) -> Scorecard:
    card = queries.scorecard_in(evaluation, card_id)
    require(card is not None)
    return card


@bp.get("/evaluations/<int:evaluation_id>/scorecards/<int:card_id>")
def view_scorecard(evaluation_id: int, card_id: int):
    """Someone's scorecard, for evaluators and specialists (who have submitted their own, if invited)."""
    evaluation = _evaluation_or_404(evaluation_id)
    card = _others_scorecard(evaluation, card_id)
    if card.scorer_id == current_user.id:
        return redirect(url_for("evaluations.scorecard", evaluation_id=evaluation.id))
    # Nobody reads a draft but its scorer; specialists see that it exists.
    require(can_view_scorecard(current_user, card), visible=True)
    return _render_other(evaluation, card)


def _render_other(evaluation: Evaluation, card: Scorecard, form: Any = None, status: int = 200):
    evidence_labels = {c.key: c.label for c in services.evidence_choices(evaluation.project_id)}
    # The blind-scoring rule, and the names rule: this page names the scorer.
    show_scores = can_view_named_scores(current_user, card)
    return render_template(
        "evaluations/view_scorecard.html",
        evaluation=evaluation,
        card=card,
        show_scores=show_scores,
        scores={s.criterion_id: s for s in card.scores},
        evidence_labels=evidence_labels,
        evidence_key=services.evidence_key,
        reopen_form=form or ReopenScorecardForm(formdata=None, version=card.version),
    ), status


@bp.post("/evaluations/<int:evaluation_id>/scorecards/<int:card_id>/reopen")
def reopen_scorecard(evaluation_id: int, card_id: int):
    evaluation = _evaluation_or_404(evaluation_id)
    card = _others_scorecard(evaluation, card_id)
    require(can_manage_evaluation(current_user, evaluation), visible=True)
    form = ReopenScorecardForm()
    try:
        services.check_scorecard_state(card, reopen=True)
    except EvaluationError as exc:
        flash(str(exc), "error")
        return _render_other(evaluation, card, form, 409)
    if not form.validate_on_submit():
        return _render_other(evaluation, card, form, 422)
    with saving(
        _("The scorecard is reopened; its scorer can change it and submit it again."), catch=EvaluationError
    ) as saved:
        services.reopen_scorecard(
            card, actor=current_user, expected_version=form.version.data, reason=form.reason.data
        )
    if saved.failed:
        evaluation = services.load_evaluation(evaluation_id)
        return _render_other(evaluation, _others_scorecard(evaluation, card_id), form, 409)
    return redirect(url_for("evaluations.detail", evaluation_id=evaluation.id))


# --- consolidated view ----------------------------------------------------------------------------


def consolidated_context(evaluation: Evaluation) -> dict[str, Any]:
    """What the consolidated results show, on their page and on its printable version."""
    results = services.consolidated_results(
        evaluation, with_individuals=can_view_individual_scores(current_user, evaluation)
    )
    return {
        "evaluation": evaluation,
        "results": results,
        "chart": group_chart(results, GROUP_LABELS),
        "scorer_groups": list(ScorerGroup),
        "points": {p.value: p.label for p in evaluation.scale.points},
    }


@bp.get("/evaluations/<int:evaluation_id>/results")
def consolidated(evaluation_id: int):
    evaluation = _evaluation_or_404(evaluation_id)
    require(can_view_results(current_user, evaluation), visible=True)
    return render_template("evaluations/consolidated.html", **consolidated_context(evaluation))


@bp.post("/evaluations/<int:evaluation_id>/results/download")
def download_results(evaluation_id: int):
    """This evaluation's consolidated table (or, for evaluators and specialists, the individual
    scores) as CSV. Audited, hence a POST."""
    evaluation = _evaluation_or_404(evaluation_id)
    require(can_view_results(current_user, evaluation), visible=True)
    what = request.form.get("what", "summary")
    individual = what == "scores"
    if individual:
        require(can_view_individual_scores(current_user, evaluation), visible=True)
    with saving():
        text = downloads.results_csv(evaluation, individual=individual, actor=current_user)
    name = f"evaluation-{evaluation.id}-{'scores' if individual else 'summary'}.csv"
    return download(text, name, CSV)


# --- recommendations --------------------------------------------------------------------------


@bp.post("/evaluations/<int:evaluation_id>/recommendations")
def add_recommendation(evaluation_id: int):
    evaluation = _evaluation_or_404(evaluation_id)
    require(can_add_recommendation(current_user, evaluation), visible=True)
    form = RecommendationForm(partners=partner_organisations(evaluation.project_id))
    if not form.validate_on_submit():
        return _render_detail(evaluation, 422, recommendation_form=form)
    with saving(_("Recommendation recorded."), catch=EvaluationError) as saved:
        services.add_recommendation(evaluation, actor=current_user, **form.entered())
    if saved.failed:
        return _render_detail(services.load_evaluation(evaluation_id), 422, recommendation_form=form)
    return redirect(url_for("evaluations.detail", evaluation_id=evaluation.id, _anchor="recommendations"))


def _recommendation_or_404(rec_id: int) -> Recommendation:
    rec = queries.recommendation(rec_id)
    require(rec is not None)
    require(can_view_evaluation(current_user, rec.evaluation))
    require(can_view_results(current_user, rec.evaluation))
    return rec


@bp.route("/recommendations/<int:rec_id>/edit", methods=["GET", "POST"])
def edit_recommendation(rec_id: int):
    rec = _recommendation_or_404(rec_id)
    require(can_edit_recommendation(current_user, rec), visible=True)
    form = RecommendationForm(obj=rec, partners=partner_organisations(rec.evaluation.project_id))
    if request.method == "GET":
        form.version.set(rec.version)

    def change() -> None:
        services.update_recommendation(rec, actor=current_user, **form.entered())

    page = "evaluations/recommendation_edit.html"
    return _change_recommendation(rec, form, page, _("Recommendation saved."), change, refused_status=409)


@bp.route("/recommendations/<int:rec_id>/response", methods=["GET", "POST"])
def respond(rec_id: int):
    rec = _recommendation_or_404(rec_id)
    require(can_respond_to_recommendation(current_user, rec), visible=True)
    form = ResponseForm()
    if request.method == "GET":
        form.response.data = rec.response.value if rec.response else ResponseKind.accepted.value
        form.planned_action.data = rec.planned_action
        form.due_date.data = rec.due_date
        form.action_status.data = (rec.action_status or ActionStatus.not_started).value
        form.version.set(rec.version)

    def change() -> None:
        services.respond_to_recommendation(
            rec,
            actor=current_user,
            response=ResponseKind(form.response.data),
            planned_action=form.planned_action.data or "",
            due_date=form.due_date.data,
            action_status=ActionStatus(form.action_status.data),
        )

    page = "evaluations/respond.html"
    return _change_recommendation(
        rec, form, page, _("Management response saved."), change, refused_status=422
    )


def _change_recommendation(
    rec: Recommendation, form: Any, page: str, done: str, change: Callable[[], None], *, refused_status: int
):
    """Check the form, then `change` the recommendation if nobody saved it since the form was
    read: back to the evaluation, else the form again (409 on such a conflict, with the version
    it now has; `refused_status` when the service refuses the change)."""
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template(page, rec=rec, form=form), status
    with saving(done, catch=EvaluationError, version=form.version) as saved:
        saved.claim(rec)
        change()
    if isinstance(saved.error, locking.EditConflict):
        return render_template(page, rec=rec, form=form), 409
    if saved.failed:
        return render_template(page, rec=rec, form=form), refused_status
    return redirect(url_for("evaluations.detail", evaluation_id=rec.evaluation_id, _anchor="recommendations"))
