"""The ILO's responses to design input, as the submission's page shows them to the token's owner:
each item with the response recorded to it, and the conversation with the organisation, read
through the same services and rules as the page (an ILO-internal comment reaches specialists and
administrators only)."""

from __future__ import annotations

from typing import Any

from flask import abort

from mel_app.api import schemas_reads
from mel_app.api.dump import attributes
from mel_app.api.views import READ, api_user, bp, scope
from mel_app.models import Comment, DesignInputItem, SubmissionKind
from mel_app.permissions import can_see_comments, can_see_internal_comments, can_view_submission
from mel_app.submissions import services


def _item(item: DesignInputItem) -> dict[str, Any]:
    response = None
    if item.disposition is not None:
        response = {
            "disposition": item.disposition,
            "reason": item.response_reason,
            "responded_by": item.responded_by.display_name if item.responded_by else None,
            "responded_at": item.responded_at,
        }
    return {
        **attributes(item, "id", "position", "kind", "text", "result_id", "indicator_id"),
        "response": response,
    }


def _comment(comment: Comment) -> dict[str, Any]:
    return {
        **attributes(comment, "id", "created_at", "body", "visibility"),
        "author": comment.author.display_name,
        "section": comment.section or None,
    }


@bp.get("/submissions/<int:submission_id>/responses")
@bp.response(200, schemas_reads.DesignInputResponses)
@scope(READ)
def design_input_responses(submission_id: int):
    """Design input's items with the ILO's response to each, and the comments.

    The comments are those the submission's page shows you: the conversation between the ILO and
    the organisation, for specialists, administrators and the organisation's reporters (`null`
    for others); ILO-internal notes for specialists and administrators only. A progress report
    has no item responses: 404."""
    user = api_user()
    sub = services.load_submission(submission_id)
    if sub is None or not can_view_submission(user, sub) or sub.kind is not SubmissionKind.design_input:
        abort(404)
    comments = None
    if can_see_comments(user, sub):
        visible = services.visible_comments(sub, include_internal=can_see_internal_comments(user, sub))
        comments = [_comment(c) for c in visible]
    return {
        "submission_id": sub.id,
        "status": sub.status,
        "version": sub.version,
        "items": [_item(item) for item in sub.design_items],
        "comments": comments,
    }
