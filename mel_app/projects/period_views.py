"""A project's reporting periods: list, add, generate a series, edit, delete."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mel_app.kit.web import ConfirmForm, confirmed_child, get_or_404, project_or_404, saving
from mel_app.models import Project, ReportingPeriod
from mel_app.permissions import can_manage_periods
from mel_app.projects import periods as periods_mod
from mel_app.projects import services
from mel_app.projects.blueprint import bp
from mel_app.projects.forms import FREQUENCY_LABELS, GeneratePeriodsForm, PeriodForm

# --- reporting periods -------------------------------------------------------------------------


def _periods_page(project: Project, *, add_form=None, generate_form=None, status=200):
    periods = periods_mod.project_periods(project)
    counts = periods_mod.report_counts(project)
    return render_template(
        "projects/periods.html",
        project=project,
        periods=periods,
        report_counts=counts,
        add_form=add_form or PeriodForm(formdata=None),
        generate_form=generate_form or GeneratePeriodsForm(formdata=None),
        delete_form=ConfirmForm(),
        frequency_labels=FREQUENCY_LABELS,
        today=services.reporting_day(),
    ), status


@bp.get("/projects/<int:project_id>/periods")
def periods(project_id: int):
    project = project_or_404(project_id, need=can_manage_periods)
    return _periods_page(project)


def _spec(form: PeriodForm) -> periods_mod.PeriodSpec:
    return periods_mod.PeriodSpec(
        label=form.label.data or "",
        start_date=form.start_date.data,
        end_date=form.end_date.data,
        due_date=form.due_date.data,
    )


@bp.post("/projects/<int:project_id>/periods")
def add_period(project_id: int):
    project = project_or_404(project_id, need=can_manage_periods)
    form = PeriodForm()
    if not form.validate_on_submit():
        return _periods_page(project, add_form=form, status=422)
    with saving(
        catch=periods_mod.PeriodError, integrity=_("This clashes with another period."), quiet=True
    ) as saved:
        period = periods_mod.add_period(project, _spec(form), actor=current_user)
    if saved.failed:
        form.label.errors = [saved.message]
        return _periods_page(project, add_form=form, status=409)
    flash(_("Period %(label)s added.", label=period.label), "success")
    return redirect(url_for("projects.periods", project_id=project.id))


@bp.post("/projects/<int:project_id>/periods/generate")
def generate_periods(project_id: int):
    project = project_or_404(project_id, need=can_manage_periods)
    form = GeneratePeriodsForm()
    if not form.validate_on_submit():
        return _periods_page(project, generate_form=form, status=422)
    with saving(catch=periods_mod.PeriodError, quiet=True) as saved:
        added, skipped = periods_mod.generate_periods(
            project, periods_mod.Frequency(form.frequency.data), form.due_days.data, actor=current_user
        )
    if saved.failed:
        form.frequency.errors = [saved.message]
        return _periods_page(project, generate_form=form, status=409)
    if added:
        flash(_("%(n)s periods added.", n=len(added)), "success")
    if skipped:
        flash(
            _(
                "%(n)s periods were left out because they overlap existing ones: %(labels)s.",
                n=len(skipped),
                labels=", ".join(s.label for s in skipped),
            ),
            "warning",
        )
    return redirect(url_for("projects.periods", project_id=project.id))


@bp.route("/projects/<int:project_id>/periods/<int:period_id>/edit", methods=["GET", "POST"])
def edit_period(project_id: int, period_id: int):
    project = project_or_404(project_id, need=can_manage_periods)
    period = get_or_404(ReportingPeriod, period_id, parent=project)
    form = PeriodForm(obj=period) if request.method == "GET" else PeriodForm()
    has_reports = periods_mod.has_reports(period)

    def page(status: int = 200):
        return render_template(
            "projects/period_form.html", project=project, period=period, form=form, has_reports=has_reports
        ), status

    if request.method == "GET":
        form.version.set(period.version)
        return page()
    if not form.validate_on_submit():
        return page(422)
    with saving(
        _("Period saved."),
        catch=periods_mod.PeriodError,
        integrity=_("This clashes with another period."),
        version=form.version,
    ) as saved:
        saved.claim(period)
        periods_mod.update_period(period, _spec(form), actor=current_user)
    if saved.failed:
        return page(409)
    return redirect(url_for("projects.periods", project_id=project.id))


@bp.post("/projects/<int:project_id>/periods/<int:period_id>/delete")
def delete_period(project_id: int, period_id: int):
    project, period = confirmed_child(ReportingPeriod, period_id, project_id, need=can_manage_periods)
    with saving(_("Period %(label)s deleted.", label=period.label), catch=periods_mod.PeriodError) as saved:
        periods_mod.delete_period(period, actor=current_user)
    if saved.failed:
        return _periods_page(project, status=409)
    return redirect(url_for("projects.periods", project_id=project.id))
