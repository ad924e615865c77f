"""The audit trail in the browser: a record's History tab, the whole trail, its CSV download."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, g, render_template, request, stream_with_context, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from mel_app.audit import history, services
from mel_app.audit.capture import entity_id as entity_id_of
from mel_app.audit.capture import project_id_of
from mel_app.audit.forms import TrailDownloadForm, TrailFilterForm
from mel_app.audit.labels import entity_label
from mel_app.integers import arg_int, to_int
from mel_app.kit.web import CSV, saving
from mel_app.kit.web import download as file_download
from mel_app.models import Project, Submission
from mel_app.permissions import (
    audit_trail_project_ids,
    can_see_remote_addresses,
    can_view_audit_trail,
    can_view_history,
    can_view_internal_history,
    is_admin,
    may_know_of_history,
    require,
    visible_audit_event_filter,
)

bp = Blueprint("audit", __name__)

FILTER_FIELDS = ("actor", "action", "project", "entity_type", "entity_id", "date_from", "date_to")

# Where a record's own page is, once the feature that shows it is there.
ENTITY_PAGES = {
    "project": ("projects.detail", "project_id"),
    "submission": ("submissions.detail", "sub_id"),
    "evaluation": ("evaluations.detail", "evaluation_id"),
}


@bp.app_template_global()
def history_url(obj: Any) -> str:
    """The address of a record's History tab: {{ history_url(submission) }}."""
    return url_for("audit.entity_history", entity_type=obj.__tablename__, entity_id=entity_id_of(obj))


@bp.app_template_global()
def may_view_history(obj: Any) -> bool:
    """Whether the signed-in user may open a record's History tab (for macros imported without context)."""
    return can_view_history(current_user, obj)


def _entity_page(entity_type: str, entity_id: str) -> str | None:
    page = ENTITY_PAGES.get(entity_type)
    number = to_int(entity_id)
    if page is None or number is None:
        return None
    values: dict[str, Any] = {page[1]: number}
    try:
        return url_for(page[0], **values)
    except BuildError:
        return None


def _int_arg(name: str) -> int | None:
    return arg_int(name)


def for_entity(
    obj: Any, viewer: Any, *, before: int | None = None, after: int | None = None, size: int = 50
) -> tuple[history.Page, list[history.Entry]]:
    """A page of a record's history, ready for the `history_list` macro; the caller has checked
    `can_view_history(viewer, obj)`. Other pages may embed it, e.g. the latest few changes."""
    page, entries, _title = _titled_history(obj, viewer, before=before, after=after, size=size)
    return page, entries


def _titled_history(
    obj: Any, viewer: Any, *, before: int | None = None, after: int | None = None, size: int = 50
) -> tuple[history.Page, list[history.Entry], str | None]:
    """`for_entity`, and the title of the record's History page (`history.present_with_title`)."""
    entity_type, entity_id = obj.__tablename__, entity_id_of(obj)
    if entity_id is None:
        raise ValueError("a record that was never written has no history")
    project_id = project_id_of(obj)
    exclude = () if can_view_internal_history(viewer, project_id) else ("comment",)
    condition = sa.and_(
        history.history_condition(entity_type, entity_id, project_id=project_id, exclude=exclude),
        visible_audit_event_filter(viewer),
    )
    page = history.keyset_page(condition, before=before, after=after, size=size)
    entries, title = history.present_with_title(
        page.events, entity_type, entity_id, obj, show_addresses=can_see_remote_addresses(viewer)
    )
    return page, entries, title


# A record's history tab, a page of a project's first visit: fifty entries of a project's
# framework (ten changes each) weighed 65 KB of HTML, over the 60 KB budget of a first visit.
RECORD_PAGE_SIZE = 20


@bp.get("/history/<entity_type>/<entity_id>")
def entity_history(entity_type: str, entity_id: str) -> str:
    if (
        entity_type not in history.audited_models()
        or history.parse_entity_key(entity_type, entity_id) is None
    ):
        abort(404)
    obj = history.load_entity(entity_type, entity_id)
    before, after = _int_arg("before"), _int_arg("after")
    if obj is not None:
        require(can_view_history(current_user, obj), visible=may_know_of_history(current_user, obj))
        page, entries, named = _titled_history(
            obj, current_user, before=before, after=after, size=RECORD_PAGE_SIZE
        )
    else:
        # A deleted record: its history stays readable to those who may read its project's trail.
        project_id = history.project_of_deleted(entity_type, entity_id)
        allowed = is_admin(current_user) or (
            project_id is not None and can_view_internal_history(current_user, project_id)
        )
        require(allowed)
        condition = sa.and_(
            history.history_condition(entity_type, entity_id, project_id=project_id),
            visible_audit_event_filter(current_user),
        )
        page = history.keyset_page(condition, before=before, after=after, size=RECORD_PAGE_SIZE)
        entries = history.present(page.events, show_addresses=can_see_remote_addresses(current_user))
        if not entries and before is None and after is None:
            abort(404)
        named = None
    return render_template(
        "audit/history.html",
        entity_type=entity_type,
        entity_id=entity_id,
        title=_record_title(entity_type, entity_id, obj, entries, named),
        entity_page=_entity_page(entity_type, entity_id) if obj is not None else None,
        exists=obj is not None,
        page=page,
        entries=entries,
    )


def _record_title(
    entity_type: str, entity_id: str, obj: Any, entries: list[history.Entry], named: str | None
) -> str:
    if named:
        return named
    if obj is None:
        # A deleted record: named as its own entries name it (from the data its events kept).
        for entry in entries:
            if entry.entity_type == entity_type and entry.entity_id == entity_id:
                return entry.entity_label
    if isinstance(obj, Project):
        return f"{entity_label(entity_type)} {obj.reference}"
    name = getattr(obj, "full_name", None) or getattr(obj, "name", None) or getattr(obj, "title", None)
    if name and not isinstance(obj, Submission):
        return f"{entity_label(entity_type)} {name}"
    return f"{entity_label(entity_type)} #{entity_id}"


def _project_choices() -> list[tuple[int, str]]:
    """The projects whose trail the user may read (every project for administrators), once a request."""
    if "_trail_projects" not in g:
        g._trail_projects = services.project_references(audit_trail_project_ids(current_user))
    choices: list[tuple[int, str]] = g._trail_projects
    return choices


def _filter_values(form: TrailFilterForm) -> dict[str, str]:
    """Each filter as the user wrote it (a refused value stays as typed, to correct)."""
    values = {}
    for name in FILTER_FIELDS:
        data = form[name].data
        if form[name].raw_data:
            values[name] = form[name].raw_data[0]
        else:
            values[name] = "" if data is None else getattr(data, "isoformat", lambda d=data: str(d))()
    return values


def _render_trail(
    form: TrailFilterForm, status: int = 200, download_form: TrailDownloadForm | None = None
) -> tuple[str, int]:
    valid = status == 200 and form.validate()
    page, entries = history.Page([]), []
    if valid:
        condition = history.trail_condition(
            form.filters(),
            audit_trail_project_ids(current_user),
            visible=visible_audit_event_filter(current_user),
        )
        page = history.keyset_page(
            condition,
            before=_int_arg("before"),
            after=_int_arg("after"),
            project_ids=None if is_admin(current_user) else [pid for pid, _ref in _project_choices()],
        )
        entries = history.present(page.events, show_addresses=can_see_remote_addresses(current_user))
    return render_template(
        "audit/trail.html",
        form=form,
        download_form=download_form or TrailDownloadForm(formdata=None),
        page=page,
        entries=entries,
        args={k: v for k, v in request.args.items() if k not in ("before", "after")},
        filter_values=_filter_values(form),
        show_addresses=can_see_remote_addresses(current_user),
    ), (200 if valid else 400)


@bp.get("/audit")
def trail() -> tuple[str, int]:
    require(can_view_audit_trail(current_user), visible=True)
    form = TrailFilterForm(formdata=request.args)
    form.set_choices(_project_choices(), every_project=is_admin(current_user))
    return _render_trail(form)


@bp.post("/audit/download")
def download() -> Response | tuple[str, int]:
    require(can_view_audit_trail(current_user), visible=True)
    form = TrailDownloadForm()
    form.set_choices(_project_choices(), every_project=is_admin(current_user))
    if not form.validate_on_submit():
        return _render_trail(form, status=400, download_form=form)
    filters = form.filters()
    with_addresses = can_see_remote_addresses(current_user)
    # Everything up to the event before this download's own: the file is a fixed snapshot.
    with saving():
        up_to_id = services.record_trail_download(
            actor=current_user,
            filters=filters,
            with_addresses=with_addresses,
        )
    body = services.trail_csv(
        filters,
        audit_trail_project_ids(current_user),
        visible=visible_audit_event_filter(current_user),
        up_to_id=up_to_id,
        with_addresses=with_addresses,
    )
    filename = f"audit-trail-up-to-{up_to_id}.csv"
    return file_download(stream_with_context(body), filename, CSV)
