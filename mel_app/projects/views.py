"""Projects: list, portfolio, project page, project form, partners, results framework editor,
framework spreadsheets and reporting periods. Views load, authorise, act and commit once."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import selectinload

from mel_app import audit, confirmation, locking
from mel_app.enum_labels import LABELS
from mel_app.extensions import db
from mel_app.figures import Aggregation, Figure, NoShare
from mel_app.integers import arg_int
from mel_app.kit.web import CSV, XLSX, ConfirmForm, choices, download, get_or_404, project_or_404, saving
from mel_app.models import (
    Indicator,
    IndicatorValue,
    Organisation,
    OrgGroup,
    Partner,
    Phase,
    Project,
    ReportingPeriod,
    Result,
    ResultType,
    Submission,
)
from mel_app.permissions import (
    can_create_project,
    can_edit_framework,
    can_edit_project,
    can_manage_periods,
    can_view_portfolio,
    portfolio_project_ids,
    require,
    visible_project_ids,
)
from mel_app.projects import charts, services
from mel_app.projects import framework as fw
from mel_app.projects import import_export as ie
from mel_app.projects import periods as periods_mod
from mel_app.projects.countries import COUNTRY_CODES, country_choices, country_name
from mel_app.projects.forms import (
    FREQUENCY_LABELS,
    PHASE_LABELS,
    RESULT_TYPE_LABELS,
    ChangeForm,
    ConfirmImportForm,
    GeneratePeriodsForm,
    ImportForm,
    IndicatorForm,
    PartnerForm,
    PeriodForm,
    ProjectFilterForm,
    ProjectForm,
    ResultForm,
)
from mel_app.projects.grid import CellStatus

bp = Blueprint("projects", __name__)

CHANGE_ACTIONS = ("up", "down", "archive", "restore", "delete")


def _today() -> date:
    return services.reporting_day()


# Enumeration labels come from the `label` filter (mel_app/enum_labels.py); only what is not an
# enumeration is offered to templates here.
bp.add_app_template_global(country_name, "country_name")


def group_labels() -> dict[OrgGroup, str]:
    return {group: str(text) for group, text in LABELS[OrgGroup].items()}


def cell_labels() -> dict[CellStatus, str]:
    return {status: str(text) for status, text in LABELS[CellStatus].items()}


def figure_basis(figure: Figure) -> str:
    """How a period's figure was made, next to it on the page: "sum of 3 organisations' reports"."""
    n = figure.count
    if figure.value is None:
        if figure.method is Aggregation.responsible:
            return _("no figure: the responsible organisation has no approved value for this period")
        return _("no figure")
    if figure.method is Aggregation.responsible:
        return _("the responsible organisation's report")
    if figure.method is Aggregation.mean:
        return ngettext("mean of %(num)d organisation's report", "mean of %(num)d organisations' reports", n)
    if figure.method is Aggregation.all_yes:
        return ngettext(
            "yes only if all say yes: %(num)d organisation's report",
            "yes only if all say yes: %(num)d organisations' reports",
            n,
        )
    if figure.method is Aggregation.any_yes:
        return ngettext(
            "yes if any says yes: %(num)d organisation's report",
            "yes if any says yes: %(num)d organisations' reports",
            n,
        )
    return ngettext("sum of %(num)d organisation's report", "sum of %(num)d organisations' reports", n)


def no_share_labels() -> dict[NoShare, str]:
    return {
        NoShare.qualitative: _("Qualitative: see the reports"),
        NoShare.no_baseline: _("No baseline"),
        NoShare.no_target: _("No target"),
        NoShare.no_actual: _("No approved value yet"),
    }


def _page_number() -> int:
    return arg_int("page", 1, minimum=1)


# --- list and portfolio ------------------------------------------------------------------------


@bp.get("/projects")
def index():
    form = ProjectFilterForm(request.args)
    form.country.choices = choices([("", _("Any country")), *country_choices()])
    form.phase.choices = choices([("", _("Any phase"))] + [(p.value, PHASE_LABELS[p]) for p in Phase])
    form.constituency.choices = choices(
        [("", _("Any constituency"))] + [(g.value, label) for g, label in group_labels().items()]
    )
    filters = services.ListFilters(
        q=(form.q.data or "")[:200],
        country=form.country.data if form.country.data in COUNTRY_CODES else "",
        phase=form.phase.data or "",
        constituency=form.constituency.data or "",
    )
    query = services.project_list_query(visible_project_ids(current_user), filters)
    pagination = db.paginate(
        query, page=_page_number(), per_page=current_app.config["PAGE_SIZE"], error_out=False
    )
    roles = services.roles_by_project(current_user, [p.id for p in pagination.items])
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "projects/index.html", form=form, pagination=pagination, roles=roles, args=args, filters=filters
    )


@bp.get("/portfolio")
def portfolio():
    require(can_view_portfolio(current_user), visible=True)
    query = (
        sa.select(Project)
        .where(Project.id.in_(portfolio_project_ids(current_user)))
        .options(selectinload(Project.countries))
        .order_by(Project.reference)
    )
    pagination = db.paginate(
        query, page=_page_number(), per_page=current_app.config["PAGE_SIZE"], error_out=False
    )
    today = _today()
    rows = services.portfolio_rows(list(pagination.items), today)
    return render_template(
        "projects/portfolio.html",
        rows=rows,
        pagination=pagination,
        today=today,
        display_value=fw.display_value,
        no_share_labels=no_share_labels(),
    )


# --- project page ------------------------------------------------------------------------------


@bp.get("/projects/<int:project_id>")
def detail(project_id: int):
    project = project_or_404(project_id)
    today = _today()
    page = services.load_project_page(
        project,
        today=today,
        reporter_organisation_ids=services.status_grid_organisations(current_user, project),
    )
    return render_template(
        "projects/detail.html",
        project=project,
        page=page,
        today=today,
        chart=charts.progress_chart,
        cell_labels=cell_labels(),
        no_share_labels=no_share_labels(),
        display_value=fw.display_value,
        figure_basis=figure_basis,
        openable_submission_ids=services.openable_submission_ids(current_user, project),
    )


# --- create and edit ---------------------------------------------------------------------------


def _project_data(form: ProjectForm) -> services.ProjectData:
    return services.ProjectData(
        reference=form.reference.data,
        title=form.title.data,
        summary=form.summary.data or "",
        donor=form.donor.data or "",
        funding_modality=form.funding_modality.data,
        countries=list(form.countries.data or []),
        start_date=form.start_date.data,
        end_date=form.end_date.data,
        phase=Phase(form.phase.data),
        sectors=form.sector_data(),
        country_shares=form.country_share_data(),
        budget_amount=form.budget_amount.data,
        budget_currency=form.budget_currency.data or None,
        donor_iati_ref=form.donor_iati_ref.data or None,
        donor_iati_type=form.donor_iati_type.data or None,
        report_reminder_days=form.report_reminder_days.data or None,
    )


@bp.route("/projects/new", methods=["GET", "POST"])
def new():
    require(can_create_project(current_user), visible=True)
    form = ProjectForm(phases=services.allowed_phases(None))
    if form.validate_on_submit():
        with saving(
            catch=services.ProjectError, integrity=_("Another project has this reference."), quiet=True
        ) as saved:
            project = services.create_project(_project_data(form), actor=current_user)
        if saved.failed:
            if saved.integrity_clash:
                form.reference.errors = [saved.message]
            else:
                form.reference.errors = [*form.reference.errors, saved.message]
            return render_template("projects/form.html", form=form, project=None), 409
        flash(
            _("Project %(reference)s created. You are its specialist.", reference=project.reference),
            "success",
        )
        return redirect(url_for("projects.detail", project_id=project.id))
    status = 422 if form.is_submitted() else 200
    return render_template("projects/form.html", form=form, project=None), status


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
def edit(project_id: int):
    project = project_or_404(project_id, need=can_edit_project)
    form = ProjectForm(project_id=project.id, phases=services.allowed_phases(project.phase))
    if request.method == "GET":
        form.process(obj=project)
        form.countries.data = project.country_codes
        form.phase.data = project.phase.value
        form.funding_modality.data = project.funding_modality.value
        form.donor_iati_type.data = project.donor_iati_type or ""
        form.budget_currency.data = project.budget_currency or ""
        form.fill_shares(
            {s.code: s.percentage for s in project.sectors},
            {c.country: c.percentage for c in project.countries},
        )
        form.version.set(project.version)
        return render_template("projects/form.html", form=form, project=project)
    if not form.validate_on_submit():
        return render_template("projects/form.html", form=form, project=project), 422
    with saving(_("Project saved."), catch=(locking.EditConflict, services.ProjectError)) as saved:
        locking.claim(project, form.version.data)
        services.update_project(project, _project_data(form), actor=current_user)
    if isinstance(saved.error, locking.EditConflict):
        form.version.set(project.version)
    if saved.failed:
        return render_template("projects/form.html", form=form, project=project), 409
    return redirect(url_for("projects.detail", project_id=project.id))


# --- partners ----------------------------------------------------------------------------------


def _partners_page(project: Project, form: PartnerForm, status: int = 200):
    partners = services.project_partners(project)
    return render_template(
        "projects/partners.html", project=project, partners=partners, form=form, remove_form=ConfirmForm()
    ), status


def _partner_form(project: Project) -> PartnerForm:
    form = PartnerForm()
    taken = sa.select(Partner.organisation_id).where(Partner.project_id == project.id)
    labels = group_labels()
    form.organisation_id.choices = choices(
        [("", _("Choose an organisation"))]
        + [
            (org.id, f"{org.label} — {labels[org.group]}")
            for org in db.session.scalars(
                sa.select(Organisation).where(Organisation.id.not_in(taken)).order_by(Organisation.name)
            )
        ]
    )
    return form


@bp.route("/projects/<int:project_id>/partners", methods=["GET", "POST"])
def partners(project_id: int):
    project = project_or_404(project_id, need=can_edit_project)
    form = _partner_form(project)
    if request.method == "GET":
        return _partners_page(project, form)
    if not form.validate_on_submit() or form.organisation_id.data is None:
        return _partners_page(project, form, 422)
    organisation = get_or_404(Organisation, form.organisation_id.data)
    with saving(
        _("%(org)s is now a partner.", org=organisation.name),
        catch=services.ProjectError,
        integrity=_("This is a partner already."),
    ) as saved:
        services.add_partner(project, organisation, actor=current_user)
    if saved.failed:
        return _partners_page(project, _partner_form(project), 409)
    return redirect(url_for("projects.partners", project_id=project.id))


@bp.post("/projects/<int:project_id>/partners/<int:partner_id>/remove")
def remove_partner(project_id: int, partner_id: int):
    project = project_or_404(project_id, need=can_edit_project)
    partner = get_or_404(Partner, partner_id, parent=project)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    name = partner.organisation.name
    with saving(_("%(org)s is no longer a partner.", org=name), catch=services.ProjectError) as saved:
        services.remove_partner(partner, actor=current_user)
    if saved.failed:
        return _partners_page(project, _partner_form(project), 409)
    return redirect(url_for("projects.partners", project_id=project.id))


# --- results framework -------------------------------------------------------------------------


def _framework_page(project: Project, status: int = 200):
    nodes = services.walk(services.framework_tree(project, include_archived=True))
    with_values = set(
        db.session.scalars(
            sa.select(sa.distinct(IndicatorValue.indicator_id))
            .join(Indicator, Indicator.id == IndicatorValue.indicator_id)
            .where(Indicator.project_id == project.id)
        )
    )
    return render_template(
        "projects/framework.html",
        project=project,
        nodes=nodes,
        with_values=with_values,
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
    results = db.session.scalars(
        sa.select(Result)
        .where(
            Result.project_id == project.id,
            Result.is_archived.is_(False),
            Result.type.in_([ResultType.impact, ResultType.outcome]),
        )
        .order_by(Result.code)
    )
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
    )


@bp.route("/projects/<int:project_id>/framework/results/new", methods=["GET", "POST"])
def new_result(project_id: int):
    project = project_or_404(project_id, need=can_edit_framework)
    form = ResultForm()
    form.needs_reason = project.framework_approved
    form.parent_id.choices = _parent_choices(project)
    if request.method == "GET":
        parent = db.session.get(Result, arg_int("parent", 0))
        if parent is not None and parent.project_id == project.id:
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
        form.version.set(result.version)
        return _result_form_page(project, form, result)
    if not form.validate_on_submit():
        return _result_form_page(project, form, result, 422)
    with saving(_("Saved."), catch=(locking.EditConflict, fw.FrameworkError)) as saved:
        locking.claim(result, form.version.data)
        fw.update_result(result, _result_data(form), actor=current_user, reason=form.reason.data)
    if isinstance(saved.error, locking.EditConflict):
        form.version.set(result.version)
    if saved.failed:
        return _result_form_page(project, form, result, 409)
    return redirect(url_for("projects.framework", project_id=project.id, _anchor=f"result-{result.id}"))


def _indicator_form(project: Project, formdata: bool, obj: Indicator | None = None) -> IndicatorForm:
    form = IndicatorForm(obj=obj) if not formdata else IndicatorForm()
    form.needs_reason = project.framework_approved
    form.responsible_organisation_id.choices = choices(
        [("", _("None in particular"))] + [(org.id, org.label) for org in fw.partner_organisations(project)]
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
    with saving(_("Saved."), catch=(locking.EditConflict, fw.FrameworkError)) as saved:
        locking.claim(indicator, form.version.data)
        fw.update_indicator(indicator, form.to_data(), actor=current_user, reason=form.reason.data)
    if isinstance(saved.error, locking.EditConflict):
        form.version.set(indicator.version)
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


# --- spreadsheets ------------------------------------------------------------------------------


def _download(data: bytes, filename: str, file_format: str):
    # The name holds the project's reference: the security hook makes it a safe header, and the
    # file (users' text) gets the same download headers as evidence files.
    return download(data, filename, XLSX if file_format == "xlsx" else CSV)


@bp.get("/projects/framework-template.<any(xlsx, csv):file_format>")
def framework_template(file_format: str):
    """The documented template, with example rows to overwrite."""
    rows = list(ie.EXAMPLE_ROWS)
    if file_format == "xlsx":
        data = ie.write_xlsx(rows, title=_("Results framework template"))
    else:
        data = ie.write_csv(rows)
    return _download(data, f"framework-template.{file_format}", file_format)


@bp.get("/projects/<int:project_id>/framework/export.<any(xlsx, csv):file_format>")
def export_framework(project_id: int, file_format: str):
    project = project_or_404(project_id)
    rows = ie.framework_rows(services.walk(services.framework_tree(project)))
    if file_format == "xlsx":
        data = ie.write_xlsx(rows, title=f"{project.reference} — {project.title}")
    else:
        data = ie.write_csv(rows)
    name = project.reference.replace("/", "-")
    # Recorded like every other download of project data (the template below holds none).
    with saving():
        audit.record(
            db.session,
            "framework.download",
            actor=current_user,
            target=project,
            after={"format": file_format},
        )
    return _download(data, f"{name}-framework.{file_format}", file_format)


def _import_page(project: Project, form: ImportForm, *, errors=None, file_error=None, status=200):
    return render_template(
        "projects/import.html",
        project=project,
        form=form,
        errors=errors or [],
        file_error=file_error,
        columns=ie.COLUMNS,
        max_rows=ie.MAX_ROWS,
    ), status


@bp.route("/projects/<int:project_id>/framework/import", methods=["GET", "POST"])
def import_framework(project_id: int):
    project = project_or_404(project_id, need=can_edit_framework)
    form = ImportForm()
    if request.method == "GET":
        return _import_page(project, form)
    if not form.validate_on_submit():
        return _import_page(project, form, status=400)
    upload = form.file.data
    data = upload.read(ie.MAX_BYTES + 1)
    filename = upload.filename or "framework"
    try:
        table = ie.read_table(filename, data)
    except ie.ImportFileError as exc:
        return _import_page(project, form, file_error=str(exc), status=422)
    plan = ie.plan_import(table, ie.FrameworkState.load(project))
    if plan.errors:
        return _import_page(project, form, errors=plan.errors, status=422)
    with saving():
        staged = ie.stage_upload(
            project, actor=current_user, filename=filename, file_format=table.file_format, data=data
        )
    return redirect(url_for("projects.import_preview", project_id=project.id, import_id=staged.id))


def _staged_plan(project: Project, import_id: int) -> tuple[Any, ie.ImportPlan]:
    staged = ie.staged_upload(import_id, project, current_user)
    if staged is None:
        abort(404)
    try:
        table = ie.read_table(staged.filename, staged.content)
    except ie.ImportFileError:  # it was readable at upload; cannot happen unless the rules changed
        abort(404)
    return staged, ie.plan_import(table, ie.FrameworkState.load(project))


def _preview_page(project, staged, plan, form, status=200):
    if not form.fingerprint.data or status == 409:
        form.fingerprint.data = plan.fingerprint
    return render_template(
        "projects/import_preview.html",
        project=project,
        staged=staged,
        plan=plan,
        form=form,
        display_value=fw.display_value,
    ), status


@bp.get("/projects/<int:project_id>/framework/import/<int:import_id>")
def import_preview(project_id: int, import_id: int):
    project = project_or_404(project_id, need=can_edit_framework)
    staged, plan = _staged_plan(project, import_id)
    form = ConfirmImportForm()
    form.needs_reason = project.framework_approved
    if plan.errors:
        return _import_page(project, ImportForm(), errors=plan.errors, status=422)
    return _preview_page(project, staged, plan, form)


@bp.post("/projects/<int:project_id>/framework/import/<int:import_id>")
def confirm_import(project_id: int, import_id: int):
    project = project_or_404(project_id, need=can_edit_framework)
    staged, plan = _staged_plan(project, import_id)
    form = ConfirmImportForm()
    form.needs_reason = project.framework_approved
    if plan.errors:
        # The framework changed since the upload so that the file no longer fits.
        return _import_page(project, ImportForm(), errors=plan.errors, status=409)
    if not form.validate_on_submit():
        return _preview_page(project, staged, plan, form, 422)
    if form.fingerprint.data != plan.fingerprint:
        flash(
            _("The framework changed since you uploaded the file. Here is what the import would do now."),
            "error",
        )
        return _preview_page(project, staged, plan, form, 409)
    filename = staged.filename
    with saving(catch=fw.FrameworkError, integrity=_("The import clashed with another change.")) as saved:
        created, updated = ie.apply_plan(
            project, plan, actor=current_user, reason=form.reason.data, filename=filename
        )
        ie.discard_upload(staged)
    if saved.failed:
        return _preview_page(project, staged, plan, form, 409)
    flash(
        _("Import applied: %(created)s added, %(updated)s changed.", created=created, updated=updated),
        "success",
    )
    return redirect(url_for("projects.framework", project_id=project.id))


# --- reporting periods -------------------------------------------------------------------------


def _periods_page(project: Project, *, add_form=None, generate_form=None, status=200):
    periods = periods_mod.project_periods(project)
    counts = dict(
        db.session.execute(
            sa.select(Submission.period_id, sa.func.count())
            .where(Submission.project_id == project.id, Submission.period_id.is_not(None))
            .group_by(Submission.period_id)
        ).all()
    )
    return render_template(
        "projects/periods.html",
        project=project,
        periods=periods,
        report_counts=counts,
        add_form=add_form or PeriodForm(formdata=None),
        generate_form=generate_form or GeneratePeriodsForm(formdata=None),
        delete_form=ConfirmForm(),
        frequency_labels=FREQUENCY_LABELS,
        today=_today(),
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
        catch=(locking.EditConflict, periods_mod.PeriodError),
        integrity=_("This clashes with another period."),
    ) as saved:
        locking.claim(period, form.version.data)
        periods_mod.update_period(period, _spec(form), actor=current_user)
    if isinstance(saved.error, locking.EditConflict):
        form.version.set(period.version)
    if saved.failed:
        return page(409)
    return redirect(url_for("projects.periods", project_id=project.id))


@bp.post("/projects/<int:project_id>/periods/<int:period_id>/delete")
def delete_period(project_id: int, period_id: int):
    project = project_or_404(project_id, need=can_manage_periods)
    period = get_or_404(ReportingPeriod, period_id, parent=project)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    label = period.label
    with saving(_("Period %(label)s deleted.", label=label), catch=periods_mod.PeriodError) as saved:
        periods_mod.delete_period(period, actor=current_user)
    if saved.failed:
        return _periods_page(project, status=409)
    return redirect(url_for("projects.periods", project_id=project.id))
