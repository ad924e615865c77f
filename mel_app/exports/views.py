"""Downloads page: choose a scope, see how many rows each table will hold, download (audited)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, stream_with_context
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from mel_app.exports import services
from mel_app.exports.cli import export_command
from mel_app.exports.forms import FORMAT_LABELS, DownloadForm, ScopeForm
from mel_app.exports.scope import Reader, Scope
from mel_app.exports.services import (
    MEDIA_TYPES,
    Format,
    NothingToExport,
    filename,
    generate,
    prepare,
    record_download,
    reporting_org_from,
)
from mel_app.exports.tables import TABLES
from mel_app.extensions import db
from mel_app.kit.web import download as file_download
from mel_app.kit.web import saving
from mel_app.models import utcnow
from mel_app.permissions import can_export, can_export_unapproved, exportable_project_ids, require

bp = Blueprint("exports", __name__, cli_group=None)
bp.cli.add_command(export_command)


def _fill_choices(form: ScopeForm) -> None:
    """Only projects (and their countries) the user may export can be chosen."""
    visible = exportable_project_ids(current_user)
    form.projects.choices = [
        SelectChoice(pid, f"{reference} — {title}")
        for pid, reference, title in services.project_choices(visible)
    ]
    territories = get_locale().territories if get_locale() else {}
    form.countries.choices = [
        SelectChoice(code, f"{territories.get(code, code)} ({code})")
        for code in services.country_choices(visible)
    ]


def _preview_counts(scope: Scope | None) -> dict[str, int] | None:
    if scope is None:
        return None
    return services.preview_counts(prepare(scope, Reader.of(current_user), Format.json))


def _page(scope_form: ScopeForm, download_form: DownloadForm, scope: Scope | None, status: int = 200):
    return (
        render_template(
            "exports/index.html",
            scope_form=scope_form,
            download_form=download_form,
            scope=scope,
            counts=_preview_counts(scope),
            tables=TABLES,
            format_labels=FORMAT_LABELS,
            may_include_unapproved=can_export_unapproved(current_user),
        ),
        status,
    )


@bp.get("/downloads")
def index():
    require(can_export(current_user), visible=True)
    may_include_unapproved = can_export_unapproved(current_user)
    scope_form = ScopeForm(formdata=request.args if request.args else None)
    _fill_choices(scope_form)
    if request.args and not scope_form.validate():
        return _page(scope_form, None, None, 400)
    scope = scope_form.scope(may_include_unapproved=may_include_unapproved)
    # The download form carries the scope whose rows the page shows.
    download_form = DownloadForm(formdata=None, data=_scope_data(scope))
    return _page(scope_form, download_form, scope)


def _scope_data(scope: Scope) -> dict:
    return {
        "projects": list(scope.project_ids),
        "period_from": scope.period_from,
        "period_to": scope.period_to,
        "countries": list(scope.countries),
        "constituencies": list(scope.constituencies),
        "all_statuses": scope.all_statuses,
    }


@bp.post("/downloads")
def download():
    require(can_export(current_user), visible=True)
    may_include_unapproved = can_export_unapproved(current_user)
    form = DownloadForm()
    _fill_choices(form)
    if not form.validate_on_submit():
        scope_form = ScopeForm(formdata=None, data=form.data)
        _fill_choices(scope_form)
        return _page(scope_form, form, None, 400)
    fmt = Format(form.format.data)
    scope = form.scope(may_include_unapproved=may_include_unapproved)
    user = current_user._get_current_object()
    ctx = prepare(scope, Reader.of(user), fmt)
    with saving(catch=NothingToExport, quiet=True) as saved:
        record_download(db.session, ctx, fmt, actor=user, bom=bool(form.bom.data))
    if saved.failed:
        form.format.errors = [_("An IATI file needs at least one project: choose a scope with projects.")]
        scope_form = ScopeForm(formdata=None, data=_scope_data(scope))
        _fill_choices(scope_form)
        return _page(scope_form, form, scope, 422)
    when = utcnow()
    stream = generate(
        db.engine,
        ctx,
        fmt,
        bom=bool(form.bom.data),
        reporting_org=reporting_org_from(current_app.config),
        generated_at=when,
    )
    return file_download(stream_with_context(stream), filename(fmt, when), MEDIA_TYPES[fmt])
