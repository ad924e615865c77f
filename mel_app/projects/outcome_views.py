"""A project's outcome statements (outcome harvesting): the list, one statement, record, edit."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mel_app.kit.web import get_or_404, project_or_404, saving
from mel_app.models import OutcomeStatement, Project
from mel_app.partners import partner_organisations
from mel_app.permissions import can_record_outcome, can_view_outcomes
from mel_app.projects import outcomes
from mel_app.projects.blueprint import bp
from mel_app.projects.outcome_forms import OutcomeForm


@bp.get("/projects/<int:project_id>/outcomes")
def outcomes_list(project_id: int):
    project = project_or_404(project_id, need=can_view_outcomes)
    return render_template(
        "projects/outcomes.html", project=project, outcomes=outcomes.project_outcomes(project)
    )


@bp.get("/projects/<int:project_id>/outcomes/<int:outcome_id>")
def outcome(project_id: int, outcome_id: int):
    project = project_or_404(project_id, need=can_view_outcomes)
    statement = get_or_404(OutcomeStatement, outcome_id, parent=project)
    return render_template("projects/outcome.html", project=project, outcome=statement)


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
