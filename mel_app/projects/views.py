"""Projects: the list, the portfolio, the project page, the project form and its partners.

The framework editor, its spreadsheets and the reporting periods are in framework_views.py,
spreadsheet_views.py and period_views.py, on the same blueprint (blueprint.py)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mel_app import audit
from mel_app.extensions import db
from mel_app.integers import arg_int, to_int
from mel_app.kit.web import (
    CSV,
    ConfirmForm,
    choices,
    confirmed_child,
    download,
    get_or_404,
    paginate,
    project_or_404,
    saving,
)
from mel_app.models import Organisation, Partner, Phase, Project, TagScheme
from mel_app.permissions import (
    can_create_project,
    can_edit_project,
    can_view_portfolio,
    portfolio_project_ids,
    require,
    visible_project_ids,
)
from mel_app.projects import charts, rollup, services
from mel_app.projects import framework as fw
from mel_app.projects.blueprint import bp
from mel_app.projects.countries import country_choices, country_code
from mel_app.projects.forms import (
    PHASE_LABELS,
    PartnerForm,
    ProjectFilterForm,
    ProjectForm,
    RollupFilterForm,
)
from mel_app.projects.labels import cell_labels, figure_basis, group_labels, no_share_labels

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
        country=country_code(form.country.data) or "",
        phase=form.phase.data or "",
        constituency=form.constituency.data or "",
    )
    query = services.project_list_query(visible_project_ids(current_user), filters)
    pagination = paginate(query)
    roles = services.roles_by_project(current_user, [p.id for p in pagination.items])
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "projects/index.html", form=form, pagination=pagination, roles=roles, args=args, filters=filters
    )


@bp.get("/portfolio")
def portfolio():
    require(can_view_portfolio(current_user), visible=True)
    pagination = paginate(services.portfolio_query(portfolio_project_ids(current_user)))
    today = services.reporting_day()
    return render_template(
        "projects/portfolio.html",
        rows=services.portfolio_rows(list(pagination.items), today),
        pagination=pagination,
        today=today,
        display_value=fw.display_value,
        no_share_labels=no_share_labels(),
    )


def _rollup_filters() -> tuple[RollupFilterForm, rollup.Filters]:
    form = RollupFilterForm(request.args)
    form.scheme.choices = choices([(s.value, rollup.SCHEME_HEADINGS[s]) for s in TagScheme])
    form.country.choices = choices([("", _("Any country")), *country_choices()])
    form.constituency.choices = choices(
        [("", _("Any constituency"))] + [(g.value, label) for g, label in group_labels().items()]
    )
    scheme = form.scheme.data if form.scheme.data in TagScheme.__members__ else TagScheme.pb.value
    form.scheme.data = scheme
    filters = rollup.Filters(
        scheme=TagScheme(scheme),
        country=country_code(form.country.data) or "",
        constituency=form.constituency.data or "",
    )
    return form, filters


@bp.get("/portfolio/by-tag")
def portfolio_by_tag():
    require(can_view_portfolio(current_user), visible=True)
    form, filters = _rollup_filters()
    found = rollup.rollup(portfolio_project_ids(current_user), filters)
    args = {k: v for k, v in request.args.items() if k in ("scheme", "country", "constituency") and v}
    return render_template(
        "projects/portfolio_by_tag.html",
        form=form,
        rollup=found,
        chart=rollup.projects_chart(found),
        heading=rollup.SCHEME_HEADINGS[filters.scheme],
        args=args,
        today=services.reporting_day(),
        display_value=fw.display_value,
    )


@bp.get("/portfolio/by-tag.csv")
def portfolio_by_tag_csv():
    require(can_view_portfolio(current_user), visible=True)
    _form, filters = _rollup_filters()
    found = rollup.rollup(portfolio_project_ids(current_user), filters)
    filename = f"portfolio-{filters.scheme.value}-{services.reporting_day().isoformat()}.csv"
    data = rollup.to_csv(found)
    # Recorded like every other download of project data: who took which figures, read how.
    with saving():
        audit.record(
            db.session,
            "portfolio.download",
            actor=current_user,
            after={
                "format": "csv",
                "scheme": filters.scheme.value,
                "country": filters.country,
                "constituency": filters.constituency,
            },
        )
    return download(data, filename, CSV)


# --- project page ------------------------------------------------------------------------------


@bp.get("/projects/<int:project_id>")
def detail(project_id: int):
    project = project_or_404(project_id)
    today = services.reporting_day()
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
        recent_figures=services.RECENT_FIGURES,
        openable_submission_ids=services.openable_submission_ids(current_user, project),
    )


@bp.get("/projects/<int:project_id>/indicators/<int:indicator_id>")
def indicator(project_id: int, indicator_id: int):
    project = project_or_404(project_id)
    page = services.load_indicator_page(project, indicator_id)
    if page is None:
        abort(404)
    return render_template(
        "projects/indicator.html",
        project=project,
        page=page,
        chart=charts.progress_chart,
        no_share_labels=no_share_labels(),
        display_value=fw.display_value,
        figure_basis=figure_basis,
    )


@bp.get("/projects/<int:project_id>/reporting-status")
def reporting_status(project_id: int):
    project = project_or_404(project_id)
    page = services.load_status_grid_page(
        project,
        today=services.reporting_day(),
        reporter_organisation_ids=services.status_grid_organisations(current_user, project),
        page=arg_int("page") or 1,
    )
    return render_template(
        "projects/reporting_status.html",
        project=project,
        page=page,
        cell_labels=cell_labels(),
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
        tags=form.tags_data(),
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
        form.fill_tags(project.tags)
        form.version.set(project.version)
        return render_template("projects/form.html", form=form, project=project)
    if not form.validate_on_submit():
        return render_template("projects/form.html", form=form, project=project), 422
    with saving(_("Project saved."), catch=services.ProjectError, version=form.version) as saved:
        saved.claim(project)
        services.update_project(project, _project_data(form), actor=current_user)
    if saved.failed:
        return render_template("projects/form.html", form=form, project=project), 409
    return redirect(url_for("projects.detail", project_id=project.id))


# --- partners ----------------------------------------------------------------------------------


def _partners_page(project: Project, form: PartnerForm, status: int = 200):
    partners = services.project_partners(project)
    return render_template(
        "projects/partners.html",
        project=project,
        partners=partners,
        form=form,
        remove_form=ConfirmForm(),
        countries=choices(
            [("", _("The project's countries, the ILO and international organisations")), *country_choices()]
        ),
        country=_listed_country(),
    ), status


def _listed_country() -> str | None:
    """The country whose organisations the page lists instead of the project's own (?country=)."""
    return country_code(request.args.get("country"))


def _partner_form(project: Project) -> PartnerForm:
    form = PartnerForm()
    if request.method == "POST":
        # The choice may come from any country's list: only that organisation is checked.
        chosen = to_int(form.organisation_id.data)  # bounded: a made-up number reaches no query
        _list_in(
            form, services.organisations_not_partners(project, ids=[chosen] if chosen is not None else [])
        )
    else:
        _list_shown(form, project)
    return form


def _list_shown(form: PartnerForm, project: Project) -> None:
    """The page's list: the organisations of the country asked for, or of the project's own."""
    _list_in(form, services.organisations_not_partners(project, country=_listed_country()))


def _list_in(form: PartnerForm, organisations: list[Organisation]) -> None:
    labels = group_labels()
    form.organisation_id.choices = choices(
        [("", _("Choose an organisation"))]
        + [(org.id, f"{org.label} — {labels[org.group]}") for org in organisations]
    )


@bp.route("/projects/<int:project_id>/partners", methods=["GET", "POST"])
def partners(project_id: int):
    project = project_or_404(project_id, need=can_edit_project)
    form = _partner_form(project)
    if request.method == "GET":
        return _partners_page(project, form)
    if not form.validate_on_submit() or form.organisation_id.data is None:
        # The list shown again is the page's, with the user's choice and the error kept.
        _list_shown(form, project)
        return _partners_page(project, form, 422)
    organisation = get_or_404(Organisation, form.organisation_id.data)
    with saving(
        _("%(org)s is now a partner.", org=organisation.name),
        catch=services.ProjectError,
        integrity=_("This is a partner already."),
    ) as saved:
        services.add_partner(project, organisation, actor=current_user)
    if saved.failed:
        _list_shown(form, project)
        return _partners_page(project, form, 409)
    return redirect(url_for("projects.partners", project_id=project.id))


@bp.post("/projects/<int:project_id>/partners/<int:partner_id>/remove")
def remove_partner(project_id: int, partner_id: int):
    project, partner = confirmed_child(Partner, partner_id, project_id, need=can_edit_project)
    with saving(
        _("%(org)s is no longer a partner.", org=partner.organisation.name), catch=services.ProjectError
    ) as saved:
        services.remove_partner(partner, actor=current_user)
    if saved.failed:
        form = PartnerForm(formdata=None)
        _list_shown(form, project)
        return _partners_page(project, form, 409)
    return redirect(url_for("projects.partners", project_id=project.id))
