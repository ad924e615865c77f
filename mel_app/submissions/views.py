"""Design input and progress reports: the forms, the review page, versions, evidence files, queue."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from wtforms import FieldList, FormField
from wtforms.validators import Length

from mel_app import confirmation, workflow
from mel_app.error_summary import ErrorLink, page_error_links
from mel_app.kit.confirming import before_confirmation
from mel_app.kit.web import download, get_or_404, paginate, project_or_404, saving
from mel_app.models import (
    NARRATIVE_SECTIONS,
    Attachment,
    Comment,
    Indicator,
    Project,
    ReportingPeriod,
    Submission,
    SubmissionKind,
    SubmissionVersion,
    Visibility,
    utcnow,
)
from mel_app.permissions import (
    can_approve_submission,
    can_comment_internally,
    can_comment_on_submission,
    can_edit_submission,
    can_reopen_submission,
    can_respond_to_design_input,
    can_return_submission,
    can_see_comments,
    can_see_internal_comments,
    can_start_design_input,
    can_start_report,
    can_use_review_queue,
    can_view_submission,
    can_withdraw_submission,
    is_submission_reporter,
    is_submission_reviewer,
    may_respond_to_design_input,
    may_withdraw_submission,
    reporter_organisation_id,
    require,
)
from mel_app.submissions import labels, merge, services, stash
from mel_app.submissions.diff import (
    compare,
    format_value,
    indicator_order,
    narrative_keys,
    ordered_values,
)
from mel_app.submissions.files import ALLOWED_EXTENSIONS, record_infected_uploads
from mel_app.submissions.forms import (
    ApproveForm,
    ConfirmSubmitForm,
    ReopenForm,
    ReturnForm,
    ReviewFilterForm,
    StartForm,
    WithdrawForm,
    comment_form,
    design_input_form,
    link_choices,
    options,
    report_form,
    report_form_data,
    responses_form,
)

bp = Blueprint("submissions", __name__)


# Globals (not context variables), so that imported macros see them too.
bp.add_app_template_global(labels, "submission_labels")
bp.add_app_template_global(format_value, "format_indicator_value")


def optional_url(endpoint: str, **values: Any) -> str | None:
    """A link to another feature's page, or None where that feature is not installed."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def _load(sub_id: int) -> Submission:
    """The submission, or 404 for anyone who may not know it exists."""
    sub = services.load_submission(sub_id)
    if sub is None:
        abort(404)
    require(can_view_submission(current_user, sub))
    return sub


def _title(sub: Submission) -> str:
    org = sub.organisation.acronym or sub.organisation.name
    if sub.kind is SubmissionKind.progress_report:
        return _("Progress report %(period)s — %(organisation)s", period=sub.period.label, organisation=org)
    return _("Design input — %(organisation)s", organisation=org)


# ---------------------------------------------------------------------------------------------
# Forms of the page


def _edit_form(sub: Submission, *, bind: bool, indicators=None, attachments=None, formdata=None):
    """The organisation's form: bound to the request when `bind`, else filled from the database.

    Its fields follow the submission's evidence files and the project's indicators; the page that
    shows it must list the same ones (`indicators`, `attachments`, read once per page). With
    `formdata`, bound to that data instead of the request (text kept while the user signed in).
    """
    if attachments is None:
        attachments = services.live_attachments(sub)
    if indicators is None:
        indicators = services.active_indicators(sub.project_id)
    extra: dict[str, Any] = {} if bind else {"formdata": None}
    if formdata is not None:
        bind, extra = True, {"formdata": formdata}
    if sub.kind is SubmissionKind.progress_report:
        if not bind:
            extra["data"] = report_form_data(sub)
        form = report_form(indicators, attachments, **extra)
    else:
        choices = link_choices(services.active_results(sub.project_id), indicators)
        form = design_input_form(sub, attachments, choices, formdata_given=bind, **extra)
    form.given_formdata = formdata  # to rebuild it from the same data (_edit_form_matching)
    return form


def _edit_form_matching(sub: Submission, form, indicators, attachments):
    """The user's form, rebuilt from what they posted if it was made for other files or indicators.

    A form is built for the evidence files and indicators there were when the request began;
    another tab may have added a file (or a specialist an indicator) before the page is shown
    again, and the page lists what there is now. The user's input is kept, as are their messages.
    """
    same_files = form.attachment_ids == [a.id for a in attachments]
    same_rows = indicators is None or getattr(form, "indicator_ids", None) == [i.id for i in indicators]
    if same_files and same_rows:
        return form
    rebuilt = _edit_form(
        sub,
        bind=True,
        indicators=indicators,
        attachments=attachments,
        formdata=getattr(form, "given_formdata", None),
    )
    rebuilt.version.set(form.version.data if form.version.data is not None else sub.version)
    _copy_errors(form, rebuilt)
    rebuilt.form_errors = list(form.form_errors)
    return rebuilt


def _copy_errors(source, target) -> None:
    """The messages of `source`'s fields onto the fields of the same name in `target`."""
    for name, field in source._fields.items():
        if name not in target._fields:
            continue
        other = target[name]
        if isinstance(field, FormField):
            _copy_errors(field.form, other.form)
        elif isinstance(field, FieldList):
            for mine, theirs in zip(field.entries, other.entries, strict=False):
                if isinstance(mine, FormField):
                    _copy_errors(mine.form, theirs.form)
                else:
                    theirs.errors = list(mine.errors)
        else:
            other.errors = list(field.errors)


def _render_page(template: str, sub: Submission, **context: Any) -> str:
    """A page about one submission: each of them names it the same way."""
    return render_template(template, sub=sub, title=_title(sub), **context)


def _fresh(form_cls, sub: Submission, **data: Any):
    return form_cls(formdata=None, data={"version": sub.version, **data})


def _page_forms(sub: Submission, given: dict[str, Any], indicators=None, attachments=None) -> dict[str, Any]:
    """Every form the user may use on the page; `given` are bound forms to show again as posted."""
    user = current_user
    forms: dict[str, Any] = {}
    if can_edit_submission(user, sub):
        forms["edit"] = given.get("edit")
        if forms["edit"] is None:
            forms["edit"] = _edit_form(sub, bind=False, indicators=indicators, attachments=attachments)
            forms["edit"].base.data = merge.base_of(forms["edit"])
    if can_return_submission(user, sub):
        forms["return"] = given.get("return") or _fresh(ReturnForm, sub)
    if can_approve_submission(user, sub):
        forms["approve"] = given.get("approve") or _fresh(ApproveForm, sub)
    if can_reopen_submission(user, sub):
        forms["reopen"] = given.get("reopen") or _fresh(ReopenForm, sub)
    if can_respond_to_design_input(user, sub):
        forms["responses"] = given.get("responses") or responses_form(sub, bind=False)
    if can_withdraw_submission(user, sub):
        forms["withdraw"] = given.get("withdraw") or _fresh(WithdrawForm, sub)
    if can_comment_on_submission(user, sub):
        forms["comment"] = given.get("comment") or comment_form(
            sub.kind, internal_allowed=can_comment_internally(user, sub), formdata=None
        )
    return forms


def _distinct_ids(forms: dict[str, Any]) -> None:
    """Several forms share a page: give their fields ids of their own (names stay as they are)."""
    for key, form in forms.items():
        fields = form if key != "edit" else [form.csrf_token, form.version, form.base]
        for field in fields:
            if field.id.startswith(f"{key}-"):
                continue
            field.id = f"{key}-{field.id}"
            field.label.field_id = field.id


def _show_limits(forms: dict[str, Any]) -> None:
    """Every text field with a length limit tells the page (drafts.js counts the characters).

    Not `maxlength`: a browser silently cuts a longer paste there; the counter says it is too
    long and the server refuses it with the text kept (mel_app/submissions/forms.py `Limit`).
    """
    for form in forms.values():
        for field in _all_fields(form):
            limit = next((v.max for v in field.validators if isinstance(v, Length) and v.max > 0), None)
            if limit is not None:
                field.render_kw = {**(field.render_kw or {}), "data-maxlength": limit}


def _all_fields(form):
    for field in form:
        if isinstance(field, FormField):
            yield from _all_fields(field.form)
        elif isinstance(field, FieldList):
            for entry in field.entries:
                yield from _all_fields(entry.form) if isinstance(entry, FormField) else [entry]
        else:
            yield field


def _join_comment(forms: dict[str, Any]) -> None:
    """Beside the organisation's form, the comment's fields belong to it (HTML `form` attribute).

    "Add comment" then sends the unsaved changes too, which are saved with the comment instead
    of being thrown away; it works without JavaScript.
    """
    if forms.get("edit") is None or forms.get("comment") is None:
        return
    for field in (forms["comment"].body, forms["comment"].section):
        field.render_kw = {**(field.render_kw or {}), "form": "edit"}


def _render_detail(
    sub: Submission,
    *,
    forms: dict[str, Any] | None = None,
    status: int = 200,
    conflict: workflow.WorkflowConflict | None = None,
    unsent: dict[str, str] | None = None,
    clashes: list[merge.Clash] | None = None,
    unsaved: bool = False,
):
    # Read once: the forms and the page must show the same files and indicators.
    attachments = services.live_attachments(sub)
    # Design input reads the indicators only for its form's choices (in _edit_form).
    report = sub.kind is SubmissionKind.progress_report
    indicators = services.active_indicators(sub.project_id) if report else None
    given = dict(forms or {})
    if given.get("edit") is not None:
        given["edit"] = _edit_form_matching(sub, given["edit"], indicators, attachments)
    page_forms = _page_forms(sub, given, indicators, attachments)
    _distinct_ids(page_forms)
    _join_comment(page_forms)
    _show_limits(page_forms)
    indicators = indicators or []
    versions = services.versions_of(sub)
    edit = page_forms.get("edit")
    conflict_view = (clashes or []) if conflict is not None and edit is not None else None
    if conflict is not None and edit is None and given.get("edit") is not None:
        unsent = _unsent_text(given["edit"], indicators)
    return (
        _render_page(
            "submissions/detail.html",
            sub,
            forms=page_forms,
            indicators=indicators,
            values={v.indicator_id: v for v in sub.values},
            attachments=attachments,
            versions=versions,
            changes=_latest_changes(versions, indicators),
            comments=_comments(sub),
            conflict=conflict,
            conflict_view=conflict_view,
            unsaved=unsaved or conflict_view is not None,
            unsent=unsent,
            project_url=optional_url("projects.detail", project_id=sub.project_id),
            history_url=optional_url("audit.entity_history", entity_type="submission", entity_id=sub.id),
            autosave_seconds=current_app.config.get("AUTOSAVE_SECONDS", 30),
            max_upload_mb=f"{current_app.config['MAX_UPLOAD_BYTES'] / (1024 * 1024):g}",
            allowed_extensions=ALLOWED_EXTENSIONS,
            sections=NARRATIVE_SECTIONS,
        ),
        status,
    )


def _latest_changes(versions: list[SubmissionVersion], indicators: list[Indicator]) -> dict[str, Any] | None:
    """What the latest submitted version changed from the one before it (None before any)."""
    if not versions:
        return None
    latest = versions[-1]
    previous = versions[-2] if len(versions) > 1 else None
    return {
        "latest": latest,
        "previous": previous,
        "groups": compare(previous.content, latest.content, indicator_order(indicators)) if previous else [],
    }


def _comments(sub: Submission) -> list[Comment] | None:
    """The thread as the user may read it; None when it is not theirs to read at all."""
    if not can_see_comments(current_user, sub):
        return None
    return services.visible_comments(sub, include_internal=can_see_internal_comments(current_user, sub))


def _input_text(entered: services.ValueInput, indicator) -> str:
    parts = []
    if entered.not_reported:
        parts.append(_("not reported"))
    if entered.value is not None:
        parts.append(format_value(entered.value, indicator.measure.value))
    if entered.women is not None or entered.men is not None:
        parts.append(
            _(
                "women %(women)s, men %(men)s",
                women=format_value(entered.women, None) or "—",
                men=format_value(entered.men, None) or "—",
            )
        )
    if entered.text_value:
        parts.append(entered.text_value)
    if entered.comment:
        parts.append(_("comment: %(comment)s", comment=entered.comment))
    return "; ".join(parts)


def _unsent_text(form, indicators) -> dict[str, str]:
    """The user's input as plain text, when the form cannot be shown any more (state changed)."""
    if hasattr(form, "narrative"):
        out = {str(labels.SECTIONS[k]): v for k, v in form.narrative().items() if v}
        for indicator in indicators:
            text = _input_text(form.row(indicator.id).to_input(), indicator)
            if text:
                out[_("Indicator %(code)s", code=indicator.code)] = text
        return out
    return {
        _("Item %(n)d", n=n): item.text
        for n, item in enumerate((i for i in form.item_inputs() if i.text), start=1)
    }


def _refused(sub_id: int, exc: workflow.WorkflowError, *, key: str, form, text: str | None = None):
    """Re-show the page after a refused action, with what the user typed and why it was refused.

    The refused change is rolled back already (`saving`)."""
    sub = _load(sub_id)
    flash(str(exc), "error")
    forms: dict[str, Any] = {}
    still_possible = key in _page_forms(sub, {})
    if still_possible:
        form.version.set(sub.version)
        forms[key] = form
    unsent = None
    if not still_possible and text:
        unsent = {_("Your text (not sent)"): text}
        if can_comment_on_submission(current_user, sub):
            forms["comment"] = comment_form(
                sub.kind,
                internal_allowed=can_comment_internally(current_user, sub),
                formdata=None,
                data={"body": text},
            )
    status = exc.http_status
    return _render_detail(sub, forms=forms, status=status, unsent=unsent)


# ---------------------------------------------------------------------------------------------
# Starting a report or design input


@bp.post("/projects/<int:project_id>/periods/<int:period_id>/report")
def start_report(project_id: int, period_id: int):
    project = project_or_404(project_id)
    period = get_or_404(ReportingPeriod, period_id, parent=project)
    return _start(project, SubmissionKind.progress_report, period, can_start_report(current_user, project))


@bp.post("/projects/<int:project_id>/design-input")
def start_design_input(project_id: int):
    project = project_or_404(project_id)
    return _start(project, SubmissionKind.design_input, None, can_start_design_input(current_user, project))


def _start(project: Project, kind: SubmissionKind, period: ReportingPeriod | None, may_create: bool):
    StartForm().validate_on_submit()  # CSRF is checked app-wide; the form has no other field
    organisation_id = reporter_organisation_id(current_user, project.id)
    require(organisation_id is not None, visible=True)
    existing = services.find_live_submission(project.id, organisation_id, kind, period.id if period else None)
    if existing is not None:
        return redirect(url_for(".detail", sub_id=existing.id))
    if not may_create:
        abort(403)
    with saving(catch=IntegrityError, quiet=True) as saved:
        sub, _created = services.start_submission(
            project, actor=current_user, organisation_id=organisation_id, kind=kind, period=period
        )
    if saved.failed:
        # A colleague opened it at the same moment: theirs is the one.
        sub = services.find_live_submission(project.id, organisation_id, kind, period.id if period else None)
        if sub is None:
            raise saved.error
    return redirect(url_for(".detail", sub_id=sub.id))


# ---------------------------------------------------------------------------------------------
# The submission page, and the organisation's saving


@bp.get("/submissions/<int:sub_id>")
def detail(sub_id: int):
    sub = _load(sub_id)
    if "restore" in request.args:
        return _render_restored(sub, request.args.get("restore"))
    return _render_detail(sub)


def _render_restored(sub: Submission, token: str | None):
    """The page with the text the user sent when their session had expired, not saved yet."""
    with saving():  # an expired stash found on the way is deleted
        kept = stash.find(token, current_user, sub)
        edit_data, comment_data = stash.restorable(kept, current_user, sub) if kept else (None, None)
    forms: dict[str, Any] = {}
    if edit_data is not None:
        forms["edit"] = _edit_form(sub, bind=True, formdata=edit_data)
    if comment_data is not None:
        forms["comment"] = comment_form(
            sub.kind, internal_allowed=can_comment_internally(current_user, sub), formdata=comment_data
        )
    if forms:
        flash(
            _(
                "Your text is back in the form, as you sent it when your session had expired. "
                "It is not saved yet: check it and press “Save draft”."
            ),
            "warning",
        )
        if kept is not None and kept.had_files:
            flash(_("Files were not kept: attach them again."), "warning")
    else:
        flash(
            _(
                "The text kept when you were signed out is no longer available: it is kept for "
                "%(hours)d hours, and only for someone who may still change this submission.",
                hours=current_app.config.get("DRAFT_STASH_HOURS", 2),
            ),
            "error",
        )
    return _render_detail(sub, forms=forms, unsaved="edit" in forms)


@bp.post("/submissions/<int:sub_id>/save")
def save(sub_id: int):
    sub = _load(sub_id)
    require(is_submission_reporter(current_user, sub), visible=True)
    form = _edit_form(sub, bind=True)
    merge.apply_choices(form, request.form)
    refused = _save_posted(sub_id, sub, form)
    if refused is not None:
        return refused
    if form.submit.data:
        return redirect(url_for(".confirm_submit", sub_id=sub_id))
    flash(_("Draft saved."), "success")
    if (request.form.get("body") or "").strip() and can_comment_on_submission(current_user, sub):
        # The comment box belongs to this form: a comment typed but not sent stays in its box.
        flash(_("Your comment is not sent yet: press “Add comment” to send it."), "warning")
        kept = comment_form(
            sub.kind, internal_allowed=can_comment_internally(current_user, sub), formdata=request.form
        )
        return _render_detail(_load(sub_id), forms={"comment": kept})
    return redirect(url_for(".detail", sub_id=sub_id))


def _save_posted(sub_id: int, sub: Submission, form):
    """Save the organisation's posted form and commit; None, or the page saying why not.

    A save on an outdated version is merged with the saved one (mel_app/submissions/merge.py)
    and shown again: nothing of either side is lost, nothing is saved until the user says so.
    """
    if not form.validate_on_submit():
        if form.infected:
            with saving():
                record_infected_uploads(sub, actor=current_user, refused=form.infected)
        if form.upload_too_large:
            return _render_detail(sub, forms={"edit": form}, status=413)
        return _render_detail(sub, forms={"edit": form}, status=422)
    with saving(catch=workflow.WorkflowError, quiet=True) as saved:
        _save(sub, form, uploads=form.uploads, removed=form.removed_attachment_ids())
        stash.forget(current_user.id, sub.id)
    if saved.failed:
        exc = saved.error
        sub = _load(sub_id)
        conflict = exc if isinstance(exc, workflow.WorkflowConflict) else workflow.last_change(sub)
        # The text lost to another save, but new files conflict with nobody's words: they are
        # added now, so that only the text needs merging (docs/DESIGN.md, "Saving a draft").
        names = ", ".join(upload.filename for upload in form.uploads)
        files_kept = False
        if form.uploads and can_edit_submission(current_user, sub):
            with saving(catch=workflow.WorkflowError, quiet=True) as attached:
                services.attach_evidence(sub, actor=current_user, uploads=form.uploads)
            files_kept = not attached.failed
            sub = _load(sub_id)
        clashes: list[merge.Clash] = []
        if can_edit_submission(current_user, sub):
            form, clashes = _merged(sub, form)
            if clashes:
                message = _(
                    "Not saved yet: %(what)s Their changes and yours are combined in the form "
                    "below. Where you both changed the same field, choose which version to keep; "
                    "then press “Save draft”.",
                    what=str(exc),
                )
            else:
                message = _(
                    "Not saved yet: %(what)s You changed other fields than they did: both are in "
                    "the form below. Press “Save draft” to save them.",
                    what=str(exc),
                )
        else:
            message = _("Your changes were not saved: %(what)s Your text is shown below.", what=str(exc))
        flash(message, "error")
        if files_kept:
            flash(_("Your new files were added to the report: %(names)s.", names=names), "success")
        elif names:
            flash(_("Your files were not saved: %(names)s. Attach them again.", names=names), "error")
        return _render_detail(sub, forms={"edit": form}, status=409, conflict=conflict, clashes=clashes)
    return None


def _merged(sub: Submission, mine):
    """The user's form merged with the version saved in between, and the fields both changed."""
    saved = _edit_form(sub, bind=False)
    data, clashes = merge.merge(saved, mine, _clash_label)
    removed = mine.removed_attachment_ids()
    data += [(f"remove_{att_id}", "y") for att_id in saved.attachment_ids if att_id in removed]
    data += [("version", str(sub.version)), ("base", merge.base_of(saved))]
    return _edit_form(sub, bind=True, formdata=merge.as_formdata(data)), clashes


def _clash_label(key: str, field) -> str:
    if key.startswith("item:"):
        return _("Design input item: %(field)s", field=field.label.text)
    return str(field.label.text)


def _save(sub: Submission, form, *, uploads, removed) -> None:
    if sub.kind is SubmissionKind.progress_report:
        services.save_report(
            sub,
            actor=current_user,
            expected_version=form.version.data,
            narrative=form.narrative(),
            values=form.values(),
            uploads=uploads,
            remove_attachment_ids=removed,
        )
    else:
        services.save_design_input(
            sub,
            actor=current_user,
            expected_version=form.version.data,
            items=form.item_inputs(),
            uploads=uploads,
            remove_attachment_ids=removed,
        )


@bp.post("/submissions/<int:sub_id>/autosave")
def autosave(sub_id: int):
    """The draft saved by the page's script every 30 seconds: text and values, never files."""
    sub = _load(sub_id)
    if not is_submission_reporter(current_user, sub):
        return jsonify(ok=False, message=_("You cannot change this submission.")), 403
    form = _edit_form(sub, bind=True)
    merge.apply_choices(form, request.form)
    if not form.validate_on_submit():
        return jsonify(
            ok=False,
            message=_(
                "Not saved automatically: some entries need correcting. Press “Save draft” to see them."
            ),
        ), 422
    with saving(catch=workflow.WorkflowError, quiet=True) as saved:
        _save(sub, form, uploads=[], removed=set())
        stash.forget(current_user.id, sub.id)
    if saved.failed:
        return jsonify(
            ok=False,
            conflict=isinstance(saved.error, workflow.WorkflowConflict),
            message=_(
                "Not saved automatically: %(what)s Press “Save draft” to compare both versions.",
                what=saved.message,
            ),
        ), 409
    # The saved text is the form's new starting point for merging (mel_app/submissions/merge.py).
    base = merge.base_of(_edit_form(_load(sub_id), bind=False))
    return jsonify(ok=True, version=sub.version, base=base, message=_("Draft saved automatically."))


# ---------------------------------------------------------------------------------------------
# Submitting


def _render_confirm(sub: Submission, form, problems, status: int = 200):
    # What is missing is the page's error summary, each problem a link to its place in the form.
    detail_url = url_for(".detail", sub_id=sub.id)
    summary = page_error_links({"form": form}) + [
        ErrorLink(p.message, f"{detail_url}#{p.anchor}") for p in problems
    ]
    page = _render_page("submissions/confirm.html", sub, form=form, problems=problems, error_summary=summary)
    return page, status


@bp.get("/submissions/<int:sub_id>/submit")
def confirm_submit(sub_id: int):
    sub = _load(sub_id)
    require(is_submission_reporter(current_user, sub), visible=True)
    if not workflow.allowed(sub.status, workflow.Action.submit):
        flash(
            _(
                "This submission cannot be submitted while it is %(status)s.",
                status=labels.status_label(sub.status),
            )
        )
        return redirect(url_for(".detail", sub_id=sub.id))
    return _render_confirm(sub, _fresh(ConfirmSubmitForm, sub), services.completeness_problems(sub))


@bp.post("/submissions/<int:sub_id>/submit")
def submit(sub_id: int):
    sub = _load(sub_id)
    require(is_submission_reporter(current_user, sub), visible=True)
    form = ConfirmSubmitForm()
    if not form.validate_on_submit():
        return _render_confirm(sub, form, services.completeness_problems(sub), 400)
    with saving(
        _("Submitted for review. The ILO specialist can see it now."),
        catch=workflow.WorkflowError,
        quiet=True,
    ) as saved:
        services.submit_submission(sub, actor=current_user, expected_version=form.version.data)
    if isinstance(saved.error, services.Incomplete):
        sub = _load(sub_id)
        return _render_confirm(sub, _fresh(ConfirmSubmitForm, sub), saved.error.problems, 422)
    if saved.failed:
        sub = _load(sub_id)
        flash(saved.message, "error")
        return _render_detail(sub, status=409)
    return redirect(url_for(".detail", sub_id=sub.id))


# ---------------------------------------------------------------------------------------------
# Reviewing


def _review(sub_id: int, key: str, form_class, transition, text_field: str, done_message):
    """A reviewer's transition: check, apply with the version the reviewer saw, explain a refusal.

    `transition(sub, actor=..., expected_version=..., <text_field>=...)` is the service to call;
    `done_message(sub)` the words flashed once it is done."""
    sub = _load(sub_id)
    require(is_submission_reviewer(current_user, sub), visible=True)
    form = form_class()
    if not form.validate_on_submit():
        return _render_detail(sub, forms={key: form}, status=422)
    text = form[text_field].data
    with saving(catch=workflow.WorkflowError, quiet=True) as saved:
        transition(sub, actor=current_user, expected_version=form.version.data, **{text_field: text})
    if saved.failed:
        return _refused(sub_id, saved.error, key=key, form=form, text=text)
    flash(done_message(sub), "success")
    return redirect(url_for(".detail", sub_id=sub.id))


def _returned(sub: Submission) -> str:
    return _("Returned to %(organisation)s for revision.", organisation=sub.organisation.name)


def _reopened(sub: Submission) -> str:
    return _("Reopened: %(organisation)s can revise it and submit again.", organisation=sub.organisation.name)


@bp.post("/submissions/<int:sub_id>/return")
def return_(sub_id: int):
    return _review(sub_id, "return", ReturnForm, services.return_submission, "comment", _returned)


@bp.post("/submissions/<int:sub_id>/approve")
def approve(sub_id: int):
    return _review(
        sub_id, "approve", ApproveForm, services.approve_submission, "comment", lambda sub: _("Approved.")
    )


@bp.post("/submissions/<int:sub_id>/reopen")
def reopen(sub_id: int):
    return _review(sub_id, "reopen", ReopenForm, services.reopen_submission, "reason", _reopened)


def _render_withdraw(sub: Submission, form, status: int = 200):
    return confirmation.render_confirmation(
        title=_("Withdraw this submission?"),
        context=f"{sub.project.reference} · {_title(sub)}",
        lead=_("%(what)s will be taken out of the review process for good.", what=_title(sub)),
        consequences=[
            _("Nobody can edit, submit or review it any more; it stays in the project's history."),
            _("Your organisation can start a new one afterwards."),
        ],
        form=form,
        fields=("reason",),
        yes=_("Yes, withdraw it"),
        cancel_url=url_for(".detail", sub_id=sub.id),
        status=status,
    )


@bp.route("/submissions/<int:sub_id>/withdraw", methods=["GET", "POST"])
def withdraw(sub_id: int):
    """GET: the confirmation page. POST (from that page): withdraw."""
    sub = _load(sub_id)
    require(may_withdraw_submission(current_user, sub), visible=True)
    answered = before_confirmation(
        allowed=lambda: can_withdraw_submission(current_user, sub),
        refusal=lambda: _(
            "This submission cannot be withdrawn while it is %(status)s.",
            status=labels.status_label(sub.status),
        ),
        back=url_for(".detail", sub_id=sub.id),
        page=lambda: _render_withdraw(sub, _fresh(WithdrawForm, sub)),
    )
    if answered is not None:
        return answered
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _render_withdraw(sub, form, 422)
    with saving(_("Withdrawn."), catch=workflow.WorkflowError, quiet=True) as saved:
        services.withdraw_submission(
            sub, actor=current_user, expected_version=form.version.data, reason=form.reason.data
        )
    if saved.failed:
        sub = _load(sub_id)
        if can_withdraw_submission(current_user, sub):
            # Saved meanwhile, still withdrawable: ask again, about the submission as it is now.
            flash(saved.message, "error")
            form.version.set(sub.version)
            return _render_withdraw(sub, form, saved.status)
        return _refused(sub_id, saved.error, key="withdraw", form=form, text=form.reason.data)
    return redirect(url_for(".detail", sub_id=sub.id))


@bp.post("/submissions/<int:sub_id>/responses")
def responses(sub_id: int):
    sub = _load(sub_id)
    require(may_respond_to_design_input(current_user, sub), visible=True)
    form = responses_form(sub, bind=True)
    if not form.validate_on_submit():
        return _render_detail(sub, forms={"responses": form}, status=422)
    with saving(
        _("Responses saved. The organisation can see them."), catch=workflow.WorkflowError, quiet=True
    ) as saved:
        services.record_responses(
            sub, actor=current_user, expected_version=form.version.data, responses=form.response_inputs()
        )
    if saved.failed:
        return _refused(sub_id, saved.error, key="responses", form=form)
    return redirect(url_for(".detail", sub_id=sub.id, _anchor="items"))


@bp.post("/submissions/<int:sub_id>/comments")
def comment(sub_id: int):
    sub = _load(sub_id)
    require(can_comment_on_submission(current_user, sub), visible=True)
    form = comment_form(sub.kind, internal_allowed=can_comment_internally(current_user, sub))
    # On the organisation's page the comment is sent with the form being edited (the button
    # belongs to that form): its unsaved changes are saved with the comment, never dropped.
    edit = None
    if "version" in request.form and can_edit_submission(current_user, sub):
        edit = _edit_form(sub, bind=True)
        merge.apply_choices(edit, request.form)
    if not form.validate_on_submit():
        given = {"comment": form} | ({"edit": edit} if edit is not None else {})
        return _render_detail(sub, forms=given, status=422, unsaved=edit is not None)
    with saving(_("Comment added.")):
        services.add_comment(
            sub,
            actor=current_user,
            body=form.body.data,
            visibility=Visibility(form.visibility.data),
            section=form.section.data or None,
        )
    if edit is not None and (merge.changed_fields(edit) or _files_posted()):
        refused = _save_posted(sub_id, _load(sub_id), edit)
        if refused is not None:
            return refused
        flash(_("Your changes to the form were saved too."), "success")
    return redirect(url_for(".detail", sub_id=sub.id, _anchor="comments"))


def _files_posted() -> bool:
    return any(getattr(f, "filename", None) for f in request.files.values()) or any(
        name.startswith("remove_") for name in request.form
    )


# ---------------------------------------------------------------------------------------------
# Versions and evidence files


@bp.get("/submissions/<int:sub_id>/versions/<int:number>")
def version(sub_id: int, number: int):
    sub = _load(sub_id)
    versions = services.versions_of(sub)
    by_number = {v.number: v for v in versions}
    current: SubmissionVersion | None = by_number.get(number)
    if current is None:
        abort(404)
    previous = by_number.get(number - 1)
    order = indicator_order(services.active_indicators(sub.project_id))
    values = current.content.get("values") or {}
    return _render_page(
        "submissions/version.html",
        sub,
        version=current,
        previous=previous,
        versions=versions,
        groups=compare(previous.content, current.content, order) if previous else [],
        content=current.content,
        narrative_keys=narrative_keys(current.content.get("narrative") or {}),
        value_rows=[values[key] for key in ordered_values(values, order)],
        attachments={a.id: a for a in sub.attachments},
    )


@bp.get("/submissions/<int:sub_id>/attachments/<int:attachment_id>")
def attachment(sub_id: int, attachment_id: int):
    sub = _load(sub_id)
    item = get_or_404(Attachment, attachment_id, parent=sub)
    if item.is_deleted and not services.attachment_in_a_version(item):
        abort(404)
    # Who read which evidence file is part of the trail, as for every other download; the hash
    # lets the file be checked against what was uploaded.
    with saving():
        services.record_attachment_download(item, actor=current_user)
    # The download headers (sandbox, nosniff, attachment) come from mel_app/security.py.
    return download(item.data, item.filename, item.media_type)


# ---------------------------------------------------------------------------------------------
# Review queue


@bp.get("/review")
def review_queue():
    require(can_use_review_queue(current_user), visible=True)
    form = ReviewFilterForm(formdata=request.args)
    choices = services.review_filter_choices(current_user)
    form.project.choices = options(choices["project"])
    form.organisation.choices = options(choices["organisation"])
    form.period.choices = options(choices["period"])
    kind = form.chosen("kind")
    age = form.chosen("age")
    filters = services.QueueFilters(
        project_id=form.chosen_int("project"),
        kind=SubmissionKind(kind) if kind else None,
        organisation_id=form.chosen_int("organisation"),
        period_label=form.chosen("period"),
        min_age_days=int(age) if age else None,
    )
    page = paginate(services.review_queue_query(current_user, filters))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("submissions/review_queue.html", form=form, page=page, args=args, now=utcnow())
