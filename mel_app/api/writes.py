"""Workflow steps through the API: a reporter submits their organisation's report, a specialist
returns or approves it — through the same services as the pages' forms, so the checks, the
version lock, the notifications and the audit events are the same.

Each step needs the version the client last read: `If-Match` with the `ETag` of
GET /submissions/{id}. A different version is a 412 (re-read, then decide again); none at all a
428. Two steps racing past that check meet the services' conditional update: the loser gets 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, request

from mel_app.api import schemas
from mel_app.api.problems import problem
from mel_app.api.views import REPORT, REVIEW, api_user, bp, scope
from mel_app.kit.web import saving
from mel_app.models import Submission
from mel_app.permissions import can_view_submission, is_submission_reporter, is_submission_reviewer
from mel_app.submissions import services
from mel_app.workflow import WorkflowError


def etag(sub: Submission) -> str:
    return f'"v{sub.version}"'


def load_to_act(submission_id: int, may_act) -> Submission:
    """The report, or 404 unless the owner may see it, 403 unless `may_act` lets them act on it."""
    sub = services.load_submission(submission_id)
    if sub is None or not can_view_submission(api_user(), sub):
        abort(404)
    if not may_act(api_user(), sub):
        abort(403, description="You may not take this step on this report.")
    return sub


def precondition(sub: Submission):
    """The refusal (428 or 412) of a request whose `If-Match` is not the report's `ETag`, or None."""
    if not request.headers.get("If-Match"):
        return problem(428, "Send If-Match with the ETag of GET /submissions/{id}.")
    if not request.if_match.contains(etag(sub).strip('"')):
        return problem(
            412,
            f"The report has changed since you read it (now version {sub.version}); read it again.",
            headers={"ETag": etag(sub)},
        )
    return None


def _step(
    submission_id: int,
    may_act: Callable[[Any, Submission], bool],
    act: Callable[[Submission], object],
    errors_of: Callable[[WorkflowError], dict[str, list[str]] | None] = lambda exc: None,
):
    """Load the report, check `If-Match`, take the step through the service (`act`), then commit
    and answer the new summary with its `ETag`, or roll back and answer the service's refusal
    (with the `errors` that `errors_of` finds in it)."""
    sub = load_to_act(submission_id, may_act)
    refused = precondition(sub)
    if refused is not None:
        return refused
    with saving(catch=WorkflowError, quiet=True) as saved:
        act(sub)
    if isinstance(saved.error, WorkflowError):
        return problem(saved.status, saved.message, errors=errors_of(saved.error))
    summary: dict[str, Any] = {name: getattr(sub, name) for name in schemas.SubmissionSummary().fields}
    return summary, 200, {"ETag": etag(sub)}


def _missing(exc: WorkflowError) -> dict[str, list[str]] | None:
    """What a submitted report lacks, by the anchor of each missing answer."""
    if not isinstance(exc, services.Incomplete):
        return None
    errors: dict[str, list[str]] = {}
    for item in exc.problems:
        errors.setdefault(item.anchor, []).append(str(item.message))
    return errors


def _comment_refused(exc: WorkflowError) -> dict[str, list[str]] | None:
    return {"json.comment": [str(exc)]} if exc.http_status == 422 else None


def _review(
    submission_id: int,
    body: dict[str, Any],
    service: Callable[..., object],
    errors_of: Callable[[WorkflowError], dict[str, list[str]] | None] = lambda exc: None,
):
    """A specialist's step (`service`: return or approve) with the body's comment."""
    return _step(
        submission_id,
        is_submission_reviewer,
        lambda sub: service(
            sub, actor=api_user(), expected_version=sub.version, comment=body.get("comment", "")
        ),
        errors_of,
    )


@bp.post("/submissions/<int:submission_id>/submit")
@bp.response(200, schemas.SubmissionSummary)
@scope(REPORT)
def submit(submission_id: int):
    """Submit the organisation's report for review (reporters of its organisation; scope
    `report`). A report with missing answers is a 422 whose `errors` say what is missing."""
    return _step(
        submission_id,
        is_submission_reporter,
        lambda sub: services.submit_submission(sub, actor=api_user(), expected_version=sub.version),
        _missing,
    )


@bp.post("/submissions/<int:submission_id>/return")
@bp.arguments(schemas.ReviewBody(), location="json")
@bp.response(200, schemas.SubmissionSummary)
@scope(REVIEW)
def return_(body, submission_id: int):
    """Return a submitted report to its organisation, saying what to change (the project's
    specialists but its author; scope `review`)."""
    return _review(submission_id, body, services.return_submission, _comment_refused)


@bp.post("/submissions/<int:submission_id>/approve")
@bp.arguments(schemas.ReviewBody(), location="json")
@bp.response(200, schemas.SubmissionSummary)
@scope(REVIEW)
def approve(body, submission_id: int):
    """Approve a submitted report, with an optional comment (scope `review`)."""
    return _review(submission_id, body, services.approve_submission)
