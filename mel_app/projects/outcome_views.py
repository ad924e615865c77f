"""A project's outcome statements (outcome harvesting): the list, one statement, record, edit."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mel_app import mail
from mel_app.kit.web import ConfirmForm, get_or_404, project_or_404, saving
from mel_app.models import OutcomeStatement, OutcomeSubstantiation, Project
from mel_app.partners import partner_organisations
from mel_app.permissions import can_record_outcome, can_view_outcomes
from mel_app.projects import outcomes, substantiation
from mel_app.projects.blueprint import bp
from mel_app.projects.outcome_forms import OutcomeForm
from mel_app.projects.substantiation_forms import SubstantiationRequestForm
from mel_app.projects.substantiation_mail import request_message


@bp.get("/projects/<int:project_id>/outcomes")
def outcomes_list(project_id: int):
    project = project_or_404(project_id, need=can_view_outcomes)
    return render_template(
        "projects/outcomes.html",
        project=project,
        outcomes=outcomes.project_outcomes(project),
        substantiated=substantiation.summaries(project),
    )


def _outcome_page(
    project: Project, statement: OutcomeStatement, form: SubstantiationRequestForm | None = None, status=200
):
    if form is None and can_record_outcome(current_user, project):
        form = SubstantiationRequestForm()
        form.language.data = current_user.preferred_language
    if form is not None:
        form.fill_choices()
    return render_template(
        "projects/outcome.html",
        project=project,
        outcome=statement,
        requests=substantiation.requests_of(statement),
        state_of=substantiation.state_of,
        request_form=form,
        withdraw_form=ConfirmForm(),
    ), status


@bp.get("/projects/<int:project_id>/outcomes/<int:outcome_id>")
def outcome(project_id: int, outcome_id: int):
    project = project_or_404(project_id, need=can_view_outcomes)
    statement = get_or_404(OutcomeStatement, outcome_id, parent=project)
    return _outcome_page(project, statement)


@bp.post("/projects/<int:project_id>/outcomes/<int:outcome_id>/substantiation")
def request_substantiation(project_id: int, outcome_id: int):
    """Ask someone without an account whether they agree with the statement: a link by e-mail."""
    project = project_or_404(project_id, need=can_record_outcome)
    statement = get_or_404(OutcomeStatement, outcome_id, parent=project)
    form = SubstantiationRequestForm()
    form.fill_choices()
    if not form.validate_on_submit():
        return _outcome_page(project, statement, form, 422)
    with saving(catch=substantiation.SubstantiationError, field=form.email, quiet=True) as saved:
        asked, token = substantiation.request_substantiation(
            statement,
            name=form.name.data or "",
            email=form.email.data or "",
            language=form.language.data or "",
            message=form.message.data or "",
            actor=current_user._get_current_object(),
        )
    if saved.failed:
        return _outcome_page(project, statement, form, saved.status)
    try:
        mail.send(request_message(asked, token, requester=current_user._get_current_object()))
    except mail.MailError:
        flash(
            _(
                "The request is saved, but the e-mail to %(email)s could not be sent. "
                "Send the request again later.",
                email=asked.email,
            ),
            "error",
        )
    else:
        flash(
            _("%(name)s has been asked by e-mail (%(email)s).", name=asked.name, email=asked.email), "success"
        )
    return redirect(
        url_for("projects.outcome", project_id=project.id, outcome_id=statement.id, _anchor="substantiation")
    )


@bp.post("/projects/<int:project_id>/outcomes/<int:outcome_id>/substantiation/<int:request_id>/withdraw")
def withdraw_substantiation(project_id: int, outcome_id: int, request_id: int):
    """Take back a waiting request: its link stops working."""
    project = project_or_404(project_id, need=can_record_outcome)
    statement = get_or_404(OutcomeStatement, outcome_id, parent=project)
    asked = get_or_404(OutcomeSubstantiation, request_id, parent=statement, key="outcome_id")
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _outcome_page(project, statement, status=400)
    with saving(
        _("The request to %(name)s is withdrawn.", name=asked.name), catch=substantiation.SubstantiationError
    ):
        substantiation.withdraw(asked, actor=current_user._get_current_object())
    return redirect(
        url_for("projects.outcome", project_id=project.id, outcome_id=statement.id, _anchor="substantiation")
    )


def _form(project: Project, obj: OutcomeStatement | None = None) -> OutcomeForm:
    form = OutcomeForm(obj=obj) if request.method == "GET" else OutcomeForm()
    form.fill_choices(partner_organisations(project.id), outcomes.project_results(project))
    return form


def _form_page(project: Project, form: OutcomeForm, statement: OutcomeStatement | None = None, status=200):
    return render_template(
        "projects/outcome_form.html", project=project, form=form, outcome=statement
    ), status


@bp.route("/projects/<int:project_id>/outcomes/new", methods=["GET", "POST"])
def new_outcome(project_id: int):
    project = project_or_404(project_id, need=can_record_outcome)
    form = _form(project)
    if not form.validate_on_submit():
        return _form_page(project, form, status=422 if form.is_submitted() else 200)
    with saving(_("Outcome recorded."), catch=outcomes.OutcomeError) as saved:
        statement = outcomes.record_outcome(project, form.spec(), actor=current_user)
    if saved.failed:
        return _form_page(project, form, status=saved.status)
    return redirect(url_for("projects.outcome", project_id=project.id, outcome_id=statement.id))


@bp.route("/projects/<int:project_id>/outcomes/<int:outcome_id>/edit", methods=["GET", "POST"])
def edit_outcome(project_id: int, outcome_id: int):
    project = project_or_404(project_id, need=can_record_outcome)
    statement = get_or_404(OutcomeStatement, outcome_id, parent=project)
    form = _form(project, statement)
    if request.method == "GET":
        form.fill(statement)
        form.version.set(statement.version)
        return _form_page(project, form, statement)
    if not form.validate_on_submit():
        return _form_page(project, form, statement, 422)
    with saving(_("Outcome saved."), catch=outcomes.OutcomeError, version=form.version) as saved:
        saved.claim(statement)
        outcomes.update_outcome(statement, form.spec(), actor=current_user)
    if saved.failed:
        return _form_page(project, form, statement, saved.status)
    return redirect(url_for("projects.outcome", project_id=project.id, outcome_id=statement.id))
