"""A results framework as a spreadsheet: the blank template, the export, and the import with
its preview and confirmation."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mel_app import audit
from mel_app.extensions import db
from mel_app.kit.web import CSV, XLSX, download, project_or_404, saving
from mel_app.models import Project
from mel_app.permissions import can_edit_framework
from mel_app.projects import framework as fw
from mel_app.projects import import_export as ie
from mel_app.projects import services
from mel_app.projects.blueprint import bp
from mel_app.projects.forms import ConfirmImportForm, ImportForm

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


def _staged_import(project_id: int, import_id: int) -> tuple[Project, Any, ie.ImportPlan, ConfirmImportForm]:
    """The project, its staged upload, what importing it would do to the framework as it is now,
    and the form that confirms it (a reason is asked once the framework is approved)."""
    project = project_or_404(project_id, need=can_edit_framework)
    staged = ie.staged_upload(import_id, project, current_user)
    if staged is None:
        abort(404)
    try:
        table = ie.read_table(staged.filename, staged.content)
    except ie.ImportFileError:  # it was readable at upload; cannot happen unless the rules changed
        abort(404)
    plan = ie.plan_import(table, ie.FrameworkState.load(project))
    form = ConfirmImportForm()
    form.needs_reason = project.framework_approved
    return project, staged, plan, form


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
    project, staged, plan, form = _staged_import(project_id, import_id)
    if plan.errors:
        return _import_page(project, ImportForm(), errors=plan.errors, status=422)
    return _preview_page(project, staged, plan, form)


@bp.post("/projects/<int:project_id>/framework/import/<int:import_id>")
def confirm_import(project_id: int, import_id: int):
    project, staged, plan, form = _staged_import(project_id, import_id)
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
