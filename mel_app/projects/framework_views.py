"""A project's results framework: the page, its approval, and the editor of results and
indicators (add, edit, move, archive, restore, delete)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mel_app import confirmation
from mel_app.integers import arg_int
from mel_app.kit.web import ConfirmForm, choices, get_or_404, project_or_404, saving
from mel_app.models import Indicator, Project, Result, ResultType
from mel_app.partners import partner_organisations
from mel_app.permissions import can_edit_framework
from mel_app.projects import framework as fw
from mel_app.projects import services
from mel_app.projects.blueprint import bp
from mel_app.projects.forms import RESULT_TYPE_LABELS, ChangeForm, IndicatorForm, ResultForm

CHANGE_ACTIONS = ("up", "down", "archive", "restore", "delete")


# --- results framework -------------------------------------------------------------------------


def _framework_page(project: Project, status: int = 200):
    return render_template(
        "projects/framework.html",
        project=project,
        nodes=services.walk(services.framework_tree(project, include_archived=True)),
        with_values=fw.indicator_ids_with_values(project),
        action_form=ChangeForm(),
        approve_form=ConfirmForm(),
        display_value=fw.display_value,
    ), status


@bp.get("/projects/<int:project_id>/framework")
def framework(project_id: int):
    project = project_or_404(project_id, need=can_edit_framework)
    return _framework_page(project)


@bp.route("/projects/<int:project_id>/framework/approve", methods=["GET", "POST"])
def approve_framework(project_id: int):
    """GET: the confirmation page. POST (from that page): approve the framework."""
    project = project_or_404(project_id, need=can_edit_framework)
    if project.framework_approved:
        flash(_("The framework is approved already."), "error")
        return redirect(url_for("projects.framework", project_id=project.id))
    if request.method == "GET":
        return confirmation.render_project_confirmation(
            project,
            title=_("Approve the results framework?"),
            lead=_("Approve it once the partners have agreed on it."),
            consequences=[
                _(
                    "From then on, every change to its results and indicators asks for a reason, "
                    "kept in the project's history."
                ),
                _("An approved framework cannot go back to draft."),
            ],
            yes=_("Yes, approve the framework"),
            cancel_url=url_for("projects.framework", project_id=project.id),
        )
    if not confirmation.came_through_confirmation():
        return confirmation.to_confirmation()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with saving(
        _("Framework approved. From now on every change asks for a reason."), catch=fw.FrameworkError
    ) as saved:
        fw.approve_framework(project, actor=current_user)
    if saved.failed:
        return _framework_page(project, 409)
    return redirect(url_for("projects.framework", project_id=project.id))


def _parent_choices(project: Project, exclude: Result | None = None) -> list[tuple[Any, str]]:
    results = fw.parent_candidates(project)
    return choices(
        [("", _("Nothing (top level)"))]
        + [
            (r.id, f"{RESULT_TYPE_LABELS[r.type]} {r.code} — {r.title}")
            for r in results
            if exclude is None or r.id != exclude.id
        ]
    )


def _result_form_page(project: Project, form: ResultForm, result: Result | None, status: int = 200):
    return render_template("projects/result_form.html", project=project, form=form, result=result), status


def _result_data(form: ResultForm) -> fw.ResultData:
    return fw.ResultData(
        type=ResultType(form.type.data),
        code=form.code.data,
        title=form.title.data,
        description=form.description.data or "",
        parent_id=form.parent_id.data,
        tags=form.tags_data(),
    )


@bp.route("/projects/<int:project_id>/framework/results/new", methods=["GET", "POST"])
def new_result(project_id: int):
    project = project_or_404(project_id, need=can_edit_framework)
    form = ResultForm()
    form.needs_reason = project.framework_approved
    form.parent_id.choices = _parent_choices(project)
    if request.method == "GET":
        parent = fw.project_result(project, arg_int("parent", 0))
        if parent is not None:
            form.parent_id.data = parent.id
            below = {ResultType.impact: ResultType.outcome, ResultType.outcome: ResultType.output}
            form.type.data = below.get(parent.type, ResultType.output).value
        return _result_form_page(project, form, None)
    if not form.validate_on_submit():
        return _result_form_page(project, form, None, 422)
    with saving(catch=fw.FrameworkError) as saved:
        result = fw.add_result(project, _result_data(form), actor=current_user, reason=form.reason.data)
    if saved.failed:
        return _result_form_page(project, form, None, 409)
    flash(_("%(level)s %(code)s added.", level=RESULT_TYPE_LABELS[result.type], code=result.code), "success")
    return redirect(url_for("projects.framework", project_id=project.id, _anchor=f"result-{result.id}"))


@bp.route("/projects/<int:project_id>/framework/results/<int:result_id>/edit", methods=["GET", "POST"])
def edit_result(project_id: int, result_id: int):
    project = project_or_404(project_id, need=can_edit_framework)
    result = get_or_404(Result, result_id, parent=project)
    form = ResultForm(obj=result) if request.method == "GET" else ResultForm()
    form.needs_reason = project.framework_approved
    form.parent_id.choices = _parent_choices(project, exclude=result)
    if request.method == "GET":
        form.type.data = result.type.value
        form.parent_id.data = result.parent_id
        form.fill_tags(result.tags)
        form.version.set(result.version)
        return _result_form_page(project, form, result)
    if not form.validate_on_submit():
        return _result_form_page(project, form, result, 422)
    with saving(_("Saved."), catch=fw.FrameworkError, version=form.version) as saved:
        saved.claim(result)
        fw.update_result(result, _result_data(form), actor=current_user, reason=form.reason.data)
    if saved.failed:
        return _result_form_page(project, form, result, 409)
    return redirect(url_for("projects.framework", project_id=project.id, _anchor=f"result-{result.id}"))


def _indicator_form(project: Project, formdata: bool, obj: Indicator | None = None) -> IndicatorForm:
    form = IndicatorForm(obj=obj) if not formdata else IndicatorForm()
    form.needs_reason = project.framework_approved
    form.responsible_organisation_id.choices = choices(
        [("", _("None in particular"))] + [(org.id, org.label) for org in partner_organisations(project.id)]
    )
    return form


def _indicator_form_page(
    project: Project, form: IndicatorForm, result: Result, indicator: Indicator | None, status=200
):
    return render_template(
        "projects/indicator_form.html", project=project, form=form, result=result, indicator=indicator
    ), status


@bp.route(
    "/projects/<int:project_id>/framework/results/<int:result_id>/indicators/new", methods=["GET", "POST"]
)
def new_indicator(project_id: int, result_id: int):
    project = project_or_404(project_id, need=can_edit_framework)
    result = get_or_404(Result, result_id, parent=project)
    form = _indicator_form(project, formdata=request.method == "POST")
    if request.method == "GET":
        return _indicator_form_page(project, form, result, None)
    if not form.validate_on_submit():
        return _indicator_form_page(project, form, result, None, 422)
    with saving(catch=fw.FrameworkError) as saved:
        indicator = fw.add_indicator(result, form.to_data(), actor=current_user, reason=form.reason.data)
    if saved.failed:
        return _indicator_form_page(project, form, result, None, 409)
    flash(_("Indicator %(code)s added.", code=indicator.code), "success")
    return redirect(url_for("projects.framework", project_id=project.id, _anchor=f"indicator-{indicator.id}"))


@bp.route("/projects/<int:project_id>/framework/indicators/<int:indicator_id>/edit", methods=["GET", "POST"])
def edit_indicator(project_id: int, indicator_id: int):
    project = project_or_404(project_id, need=can_edit_framework)
    indicator = get_or_404(Indicator, indicator_id, parent=project)
    form = _indicator_form(project, formdata=request.method == "POST", obj=indicator)
    if request.method == "GET":
        form.measure.data = indicator.measure.value
        form.baseline_value.data = fw.input_text(indicator.baseline_value, indicator.measure)
        form.target_value.data = fw.input_text(indicator.target_value, indicator.measure)
        form.version.set(indicator.version)
        return _indicator_form_page(project, form, indicator.result, indicator)
    if not form.validate_on_submit():
        return _indicator_form_page(project, form, indicator.result, indicator, 422)
    with saving(_("Saved."), catch=fw.FrameworkError, version=form.version) as saved:
        saved.claim(indicator)
        fw.update_indicator(indicator, form.to_data(), actor=current_user, reason=form.reason.data)
    if saved.failed:
        return _indicator_form_page(project, form, indicator.result, indicator, 409)
    return redirect(url_for("projects.framework", project_id=project.id, _anchor=f"indicator-{indicator.id}"))


CHANGES = {
    ("result", "up"): lambda obj, **kw: fw.move_result(obj, "up", **kw),
    ("result", "down"): lambda obj, **kw: fw.move_result(obj, "down", **kw),
    ("result", "archive"): fw.archive_result,
    ("result", "restore"): fw.restore_result,
    ("result", "delete"): fw.delete_result,
    ("indicator", "up"): lambda obj, **kw: fw.move_indicator(obj, "up", **kw),
    ("indicator", "down"): lambda obj, **kw: fw.move_indicator(obj, "down", **kw),
    ("indicator", "archive"): fw.archive_indicator,
    ("indicator", "restore"): fw.restore_indicator,
    ("indicator", "delete"): fw.delete_indicator,
}


def _change_messages() -> dict[str, str]:
    return {
        "up": _("Moved up."),
        "down": _("Moved down."),
        "archive": _("Archived."),
        "restore": _("Restored."),
        "delete": _("Deleted."),
    }


def _change_titles() -> dict[str, str]:
    return {
        "up": _("Move up"),
        "down": _("Move down"),
        "archive": _("Archive"),
        "restore": _("Restore"),
        "delete": _("Delete"),
    }


@bp.route(
    "/projects/<int:project_id>/framework/<any(result, indicator):kind>/<int:item_id>/<action>",
    methods=["GET", "POST"],
)
def framework_change(project_id: int, kind: str, item_id: int, action: str):
    """GET: a confirmation page (with the reason field once approved). POST: make the change."""
    if action not in CHANGE_ACTIONS:
        abort(404)
    project = project_or_404(project_id, need=can_edit_framework)
    item = (
        get_or_404(Result, item_id, parent=project)
        if kind == "result"
        else get_or_404(Indicator, item_id, parent=project)
    )
    form = ChangeForm()
    form.needs_reason = project.framework_approved

    def page(status: int = 200):
        has_values = kind == "indicator" and fw.has_reported_values(item)
        return render_template(
            "projects/change.html",
            project=project,
            form=form,
            kind=kind,
            item=item,
            action=action,
            title=_change_titles()[action],
            has_values=has_values,
        ), status

    if request.method == "GET":
        return page()
    if not form.validate_on_submit():
        return page(422)
    with saving(_change_messages()[action], catch=fw.FrameworkError) as saved:
        CHANGES[(kind, action)](item, actor=current_user, reason=form.reason.data)
    if saved.failed:
        return page(409)
    anchor = None if action == "delete" else f"{kind}-{item_id}"
    return redirect(url_for("projects.framework", project_id=project.id, _anchor=anchor))
