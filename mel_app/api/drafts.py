"""Reporters write their organisation's drafts through the API: start a progress report or design
input, change its narrative, values or items, attach and remove evidence files. Each goes through
the services and checks of the organisation's form on the submission page (mel_app/submissions/),
so the refusals, the version lock and the audit events are the page's.

Every change names the version it was made on: `If-Match` with the `ETag` last read (GET
/submissions/{id}, or the answer to the previous change), as the workflow steps do (writes.py):
412 when the draft has changed since, 428 without it. Two changes racing past that check meet
the services' conditional update, and the later one is a 409: nothing is silently overwritten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, current_app, url_for

from mel_app.api import schemas
from mel_app.api import schemas_drafts as io
from mel_app.api.problems import problem
from mel_app.api.views import REPORT, api_user, bp, scope
from mel_app.api.writes import etag, load_to_act, precondition
from mel_app.extensions import db
from mel_app.kit.web import saving
from mel_app.models import (
    DesignItemKind,
    IndicatorValue,
    Project,
    ReportingPeriod,
    Submission,
    SubmissionKind,
)
from mel_app.permissions import (
    can_start_design_input,
    can_start_report,
    can_view_project,
    is_submission_reporter,
    reporter_organisation_id,
)
from mel_app.submissions import services
from mel_app.submissions.files import EvidenceLimits, check_evidence, record_infected_uploads
from mel_app.workflow import WorkflowError, check_editable

Errors = dict[str, list[str]]

IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "schema": {"type": "string"},
    "description": "The `ETag` of the draft as last read (GET /submissions/{id}, or the previous change).",
}
_REFUSALS = {
    403: "Not a reporter of the draft's organisation, or a token without the scope `report`.",
    409: "The draft's state does not allow the change (submitted, approved...), or a change made "
    "meanwhile won the race.",
    412: "The draft has changed since the `ETag` sent: read it again.",
    428: "No `If-Match`.",
}
_INVALID = "The request has invalid fields."


def _refusals(*statuses: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document the problems an operation may answer (besides 404 and 422)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        for status in statuses:
            view = bp.alt_response(status, schema=schemas.Problem, description=_REFUSALS[status])(view)
        return view

    return decorate


# --- answers ------------------------------------------------------------------------------------


def _detail(sub_id: int) -> dict[str, Any]:
    """The draft as GET /submissions/{id} shows it, with the items of design input."""
    sub = services.load_submission(sub_id)
    assert sub is not None  # noqa: S101 - just written or just read in this request
    body: dict[str, Any] = {
        **{name: getattr(sub, name) for name in schemas.SubmissionSummary().fields},
        "narrative": {k: v for k, v in (sub.narrative or {}).items() if isinstance(v, str)},
        "values": sorted(sub.values, key=lambda v: v.indicator_id),
        "attachments": services.live_attachments(sub),
    }
    if sub.kind is SubmissionKind.design_input:
        body["design_items"] = sub.design_items
    return body


def _url(sub: Submission) -> str:
    return url_for("api_v1.submission", submission_id=sub.id)


def _exists(sub: Submission) -> Response:
    """The refusal of a second live report: the page would open the existing one instead."""
    url = _url(sub)
    what = "report for this period" if sub.kind is SubmissionKind.progress_report else "design input"
    return problem(
        409,
        f"Your organisation's {what} exists already ({url}): change that one.",
        kind="already-exists",
        headers={"Location": url},
        extensions={"submission_id": sub.id, "submission_url": url},
    )


def _written(sub: Submission, write: Callable[[], object], status: int = 200) -> Any:
    """Commit what `write` does through a service, then answer the draft with its new `ETag`;
    or roll back and answer the service's refusal (with the version there is now)."""
    with saving(catch=WorkflowError, quiet=True) as saved:
        write()
    if saved.failed:
        return problem(saved.status, saved.message, headers={"ETag": etag(sub)})
    return _detail(sub.id), status, {"ETag": etag(sub)}


# --- starting -----------------------------------------------------------------------------------


def _start(
    project_id: int,
    kind: SubmissionKind,
    period_id: int | None,
    may_start: Callable[[Any, Project], bool],
) -> Any:
    """Start the organisation's draft as the page's "Open" button does, or say which exists."""
    user = api_user()
    project = db.session.get(Project, project_id)
    if project is None or not can_view_project(user, project):
        abort(404)
    period = None
    if period_id is not None:
        period = db.session.get(ReportingPeriod, period_id)
        if period is None or period.project_id != project.id:
            abort(404)
    organisation_id = reporter_organisation_id(user, project.id)
    if organisation_id is None:
        abort(403, description="Only the project's reporters start drafts, for their organisation.")
    existing = services.find_live_submission(project.id, organisation_id, kind, period_id)
    if existing is not None:
        return _exists(existing)
    if not may_start(user, project):
        abort(403, description="The project's phase does not take this now.")
    with saving(catch=sa.exc.IntegrityError, quiet=True) as saved:
        sub, _created = services.start_submission(
            project, actor=user, organisation_id=organisation_id, kind=kind, period=period
        )
    if saved.failed:
        # A colleague started it at the same moment: theirs is the one.
        existing = services.find_live_submission(project.id, organisation_id, kind, period_id)
        if existing is None:
            raise saved.error  # type: ignore[misc]
        return _exists(existing)
    return _detail(sub.id), 201, {"Location": _url(sub), "ETag": etag(sub)}


@bp.post("/projects/<int:project_id>/periods/<int:period_id>/report")
@scope(REPORT)
@bp.response(201, io.Draft)
@bp.alt_response(409, schema=io.ExistsProblem, description="The organisation's report exists already.")
@_refusals(403)
def start_report(project_id: int, period_id: int):
    """Start the organisation's progress report for a period, as a draft (reporters of the
    project; scope `report`). When it exists already: 409, with its `submission_id` and
    `submission_url` and a `Location` to it."""
    return _start(project_id, SubmissionKind.progress_report, period_id, can_start_report)


@bp.post("/projects/<int:project_id>/design-input")
@scope(REPORT)
@bp.response(201, io.Draft)
@bp.alt_response(409, schema=io.ExistsProblem, description="The organisation's design input exists already.")
@_refusals(403)
def start_design_input(project_id: int):
    """Start the organisation's design input, as a draft, while the project is in design
    (reporters of the project; scope `report`). When it exists already: 409, as for a report."""
    return _start(project_id, SubmissionKind.design_input, None, can_start_design_input)


# --- changing -----------------------------------------------------------------------------------


def _refused(sub: Submission) -> Response | None:
    """The refusal of a change to the draft: 428 or 412 (`If-Match`), or 409 when its state
    allows no change (as the page's form, which is then not shown); None when it may go on."""
    refused = precondition(sub)
    if refused is None:
        try:
            check_editable(sub)
        except WorkflowError as exc:
            refused = problem(exc.http_status, str(exc), headers={"ETag": etag(sub)})
    return refused


def _misplaced(body: dict[str, Any], names: Iterable[str], message: str) -> Errors:
    return {f"json.{name}": [message] for name in names if name in body}


def _answer(row: IndicatorValue | None, given: dict[str, Any], parts: tuple[str, ...]) -> services.ValueInput:
    """The answer as saved, with the parts `given` in place of its own (the parts that do not
    belong to the indicator's measure dropped, as the page's row has no field for them)."""
    answer = services.ValueInput()
    if row is not None:
        answer = services.ValueInput(
            value=row.value if "value" in parts else None,
            women=row.women if "women" in parts else None,
            men=row.men if "men" in parts else None,
            text_value=row.text_value if "text_value" in parts else "",
            not_reported=row.not_reported,
            comment=row.comment,
        )
    return replace(answer, **{key: value for key, value in given.items() if key != "indicator_id"})


def _report_change(sub: Submission, body: dict[str, Any]) -> tuple[Errors, Callable[[], object]]:
    errors = _misplaced(
        body, ["design_items"], "A progress report has narrative and values, not design items."
    )
    narrative = {k: v for k, v in (sub.narrative or {}).items() if isinstance(v, str)} | body.get(
        "narrative", {}
    )
    indicators = {i.id: i for i in services.active_indicators(sub.project_id)}
    saved = {row.indicator_id: row for row in sub.values}
    values: dict[int, services.ValueInput] = {}
    for n, given in enumerate(body.get("values", [])):
        at = f"json.values.{n}"
        indicator = indicators.get(given["indicator_id"])
        if indicator is None:
            errors[f"{at}.indicator_id"] = [
                "Not an indicator this report answers (see the project's framework)."
            ]
            continue
        if indicator.id in values:
            errors[f"{at}.indicator_id"] = ["This indicator is given twice."]
            continue
        parts = services.value_fields(indicator)
        foreign = [p for p in ("value", "women", "men", "text_value") if p in given and p not in parts]
        for part in foreign:
            takes = ", ".join(parts)
            errors[f"{at}.{part}"] = [
                f"Indicator {indicator.code} ({indicator.measure.value}) takes {takes}."
            ]
        if foreign:
            continue
        checked = services.check_value(indicator, _answer(saved.get(indicator.id), given, parts))
        for part, messages in checked.errors.items():
            errors[f"{at}.{part}"] = messages
        values[indicator.id] = checked.entered

    def write() -> None:
        services.save_report(
            sub, actor=api_user(), expected_version=sub.version, narrative=narrative, values=values
        )

    return errors, write


def _design_change(sub: Submission, body: dict[str, Any]) -> tuple[Errors, Callable[[], object]]:
    errors = _misplaced(
        body, ["narrative", "values"], "Design input has design items, not narrative or values."
    )
    saved = {item.id: item for item in sub.design_items}
    results = {r.id for r in services.active_results(sub.project_id)}
    indicators = {i.id for i in services.active_indicators(sub.project_id)}
    items: list[services.ItemInput] = []
    for n, given in enumerate(body.get("design_items", [])):
        at = f"json.design_items.{n}"
        row = saved.get(given["id"]) if "id" in given else None
        if "id" in given and row is None:
            errors[f"{at}.id"] = ["Not an item of this design input."]
            continue
        if row is not None and any(item.id == row.id for item in items):
            errors[f"{at}.id"] = ["This item is given twice."]
            continue
        if row is None and given.get("remove"):
            errors[f"{at}.remove"] = ["Only an item already saved can be removed."]
            continue
        text = given.get("text", row.text if row is not None else "")
        entered = services.ItemInput(
            id=row.id if row is not None else None,
            kind=DesignItemKind(
                given.get("kind", row.kind.value if row is not None else DesignItemKind.need)
            ),
            text=text.strip(),
            result_id=given.get("result_id", row.result_id if row is not None else None),
            indicator_id=given.get("indicator_id", row.indicator_id if row is not None else None),
            remove=bool(given.get("remove")),
        )
        if "result_id" in given and entered.result_id is not None and entered.result_id not in results:
            errors[f"{at}.result_id"] = ["Not a result of this project's framework."]
        if (
            "indicator_id" in given
            and entered.indicator_id is not None
            and entered.indicator_id not in indicators
        ):
            errors[f"{at}.indicator_id"] = ["Not an indicator of this project's framework."]
        if entered.result_id is not None and entered.indicator_id is not None:
            errors.setdefault(f"{at}.indicator_id", []).append(
                "An item is about a result or an indicator, not both."
            )
        problems = services.item_problems(text, existing=row is not None, removed=entered.remove)
        if row is None and not entered.text:
            problems = [*problems, "A new item needs its text."]
        if problems:
            errors[f"{at}.text"] = problems
        items.append(entered)

    def write() -> None:
        services.save_design_input(sub, actor=api_user(), expected_version=sub.version, items=items)

    return errors, write


@bp.patch("/submissions/<int:submission_id>")
@scope(REPORT)
@bp.arguments(io.DraftPatch, location="json")
@bp.response(200, io.Draft)
@bp.doc(parameters=[IF_MATCH])
@_refusals(403, 409, 412, 428)
def update(body: dict[str, Any], submission_id: int):
    """Change the organisation's draft, while it is a draft or returned (reporters of its
    organisation; scope `report`; `If-Match` required). A progress report takes `narrative` and
    `values`, design input `design_items`; what is left out stays as saved. The checks are the page's:
    a 422 whose `errors` name each refused field (`json.values.0.women`), and nothing saved."""
    sub = load_to_act(submission_id, is_submission_reporter)
    refused = _refused(sub)
    if refused is not None:
        return refused
    change = _report_change if sub.kind is SubmissionKind.progress_report else _design_change
    errors, write = change(sub, body)
    if errors:
        return problem(422, _INVALID, errors=errors)
    return _written(sub, write)


# --- evidence files -----------------------------------------------------------------------------


@bp.post("/submissions/<int:submission_id>/attachments")
@scope(REPORT)
@bp.arguments(io.EvidenceFiles, location="files")
@bp.response(201, io.AttachmentList)
@bp.doc(parameters=[IF_MATCH])
@bp.alt_response(413, schema=schemas.Problem, description="A file is over the size limit.")
@_refusals(403, 409, 412, 428)
def attach(files: dict[str, Any], submission_id: int):
    """Attach evidence files to the draft (multipart/form-data, the part `file`, repeated for
    several), with the page's checks: kinds of file, size, pictures' pixels, files per save, the
    virus scanner. A refused file refuses them all (422, or 413 for size), and nothing is added.
    As on the page, attaching is a change of the draft: `If-Match` required, a new `ETag`."""
    sub = load_to_act(submission_id, is_submission_reporter)
    refused = _refused(sub)
    if refused is not None:
        return refused
    found = check_evidence(
        [(storage.stream, storage.filename) for storage in files["file"]],
        EvidenceLimits.from_config(current_app.config),
    )
    if found.infected:
        with saving():  # the refusal itself is kept in the audit trail, as on the page
            record_infected_uploads(sub, actor=api_user(), refused=found.infected)
    if found.refusals:
        return problem(
            413 if found.too_large else 422,
            "The files were refused; none was added.",
            errors={"files.file": found.refusals},
        )
    with saving(catch=WorkflowError, quiet=True) as saved:
        added = services.attach_evidence(
            sub, actor=api_user(), uploads=found.uploads, expected_version=sub.version
        )
    if saved.failed:
        return problem(saved.status, saved.message, headers={"ETag": etag(sub)})
    return {"items": added}, 201, {"ETag": etag(sub)}


@bp.delete("/submissions/<int:submission_id>/attachments/<int:attachment_id>")
@scope(REPORT)
@bp.response(204)
@bp.doc(parameters=[IF_MATCH])
@_refusals(403, 409, 412, 428)
def detach(submission_id: int, attachment_id: int):
    """Remove an evidence file from the draft, as the page's "Remove" box does (scope `report`,
    `If-Match` required). A version submitted earlier still shows it to its readers."""
    sub = load_to_act(submission_id, is_submission_reporter)
    if not any(a.id == attachment_id for a in services.live_attachments(sub)):
        abort(404)
    refused = _refused(sub)
    if refused is not None:
        return refused
    with saving(catch=WorkflowError, quiet=True) as saved:
        services.remove_evidence(
            sub, actor=api_user(), expected_version=sub.version, attachment_ids={attachment_id}
        )
    if saved.failed:
        return problem(saved.status, saved.message, headers={"ETag": etag(sub)})
    return Response(status=204, headers={"ETag": etag(sub)})
