"""The read endpoints: each shows exactly what the token's owner sees on the pages.

Lists are filtered in SQL by the predicates of mel_app/permissions.py (visible_project_ids,
visible_submission_filter); single objects are checked with the same can_view_* functions as the
pages, and one the owner may not know of is a 404, as on the pages.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import abort
from marshmallow import Schema
from sqlalchemy.orm import InstrumentedAttribute, selectinload

from mel_app.api import pagination, schemas
from mel_app.api.views import READ, api_user, bp, scope
from mel_app.api.writes import etag
from mel_app.audit import chain
from mel_app.extensions import db
from mel_app.models import (
    Attachment,
    Partner,
    Project,
    ReportingPeriod,
    Result,
    Submission,
)
from mel_app.permissions import (
    can_export,
    can_view_audit_trail,
    can_view_project,
    can_view_submission,
    visible_project_ids,
    visible_submission_filter,
)
from mel_app.projects import ilo_terms


def _project(project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None or not can_view_project(api_user(), project):
        abort(404)
    return project


@cache
def _field_names(schema: type[Schema]) -> tuple[str, ...]:
    """The names of a schema's fields: building a schema object takes about a millisecond, too
    much to do for every project of a page, so once per schema."""
    return tuple(schema().fields)


def _tags(rows: Any) -> list[dict[str, str]]:
    """The ILO tags as scheme and code, in the catalogue's order."""
    return [{"scheme": scheme.value, "code": code} for scheme, code in ilo_terms.Tags.of(rows).pairs()]


def _fields(obj: Any, schema: type[Schema]) -> dict[str, Any]:
    return {c: getattr(obj, c) for c in _field_names(schema) if hasattr(obj, c)}


def _project_out(project: Project) -> dict[str, Any]:
    return {
        **_fields(project, schemas.Project),
        "countries": sorted(project.countries, key=lambda c: c.country),
        "sectors": sorted(project.sectors, key=lambda s: s.code),
        "tags": _tags(project.tags),
        "partners": sorted((p.organisation for p in project.partners), key=lambda o: o.id),
    }


def _page(
    query: sa.Select,
    args: dict[str, Any],
    *,
    key_column: InstrumentedAttribute[Any],
    id_column: InstrumentedAttribute[int],
    out: Callable[[Any], Any] = lambda row: row,
) -> dict[str, Any]:
    """The page of `query` that the `limit` and `cursor` arguments ask for (see pagination.py),
    ordered by (key_column, id_column), each row through `out`, and the next page's cursor."""
    rows, cursor = pagination.page(
        db.session,
        query,
        key_column=key_column,
        id_column=id_column,
        key_of=lambda row: getattr(row, key_column.key),
        limit=args["limit"],
        cursor=args["cursor"],
    )
    return {"items": [out(row) for row in rows], "next_cursor": cursor}


@bp.get("/projects")
@bp.arguments(schemas.ProjectArgs, location="query")
@bp.response(200, schemas.ProjectPage)
@scope(READ)
def projects(args):
    """The projects the owner may see, by reference."""
    query = sa.select(Project).where(Project.id.in_(visible_project_ids(api_user())))
    if args["updated_since"]:
        query = query.where(Project.updated_at >= args["updated_since"])
    query = query.options(
        selectinload(Project.countries),
        selectinload(Project.sectors),
        selectinload(Project.tags),
        selectinload(Project.partners).selectinload(Partner.organisation),
    )
    return _page(query, args, key_column=Project.reference, id_column=Project.id, out=_project_out)


@bp.get("/projects/<int:project_id>")
@bp.response(200, schemas.Project)
@scope(READ)
def project(project_id: int):
    """One project, with its countries, sectors and partner organisations."""
    return _project_out(_project(project_id))


@bp.get("/projects/<int:project_id>/framework")
@bp.response(200, schemas.Framework)
@scope(READ)
def framework(project_id: int):
    """The project's results framework: results in order, each with its indicators (archived
    ones included and marked)."""
    project = _project(project_id)
    results = db.session.scalars(
        sa.select(Result)
        .where(Result.project_id == project.id)
        .order_by(Result.position, Result.id)
        .options(selectinload(Result.indicators), selectinload(Result.tags))
    ).all()
    return {
        "project_id": project.id,
        "approved": project.framework_approved,
        "results": [{**_fields(result, schemas.Result), "tags": _tags(result.tags)} for result in results],
    }


@bp.get("/projects/<int:project_id>/periods")
@bp.response(200, schemas.PeriodList)
@scope(READ)
def periods(project_id: int):
    """The project's reporting periods, oldest first."""
    project = _project(project_id)
    rows = db.session.scalars(
        sa.select(ReportingPeriod)
        .where(ReportingPeriod.project_id == project.id)
        .order_by(ReportingPeriod.start_date, ReportingPeriod.id)
    ).all()
    return {"items": rows}


@bp.get("/submissions")
@bp.arguments(schemas.SubmissionArgs, location="query")
@bp.response(200, schemas.SubmissionPage)
@scope(READ)
def submissions(args):
    """Reports and design input the owner may see, least recently changed first (so that a sync
    with `updated_since` and the cursor sees every change)."""
    query = sa.select(Submission).where(visible_submission_filter(api_user()))
    if args["project"]:
        query = query.where(Submission.project_id == args["project"])
    if args["period"]:
        query = query.where(Submission.period_id == args["period"])
    if args["status"]:
        query = query.where(Submission.status == args["status"])
    if args["kind"]:
        query = query.where(Submission.kind == args["kind"])
    if args["updated_since"]:
        query = query.where(Submission.updated_at >= args["updated_since"])
    query = query.options(selectinload(Submission.organisation))
    return _page(query, args, key_column=Submission.updated_at, id_column=Submission.id)


@bp.get("/submissions/<int:submission_id>")
@bp.response(200, schemas.SubmissionDetail)
@scope(READ)
def submission(submission_id: int):
    """One report or design input: its values (women and men where counted), its narrative and
    the metadata of its evidence files (the files themselves are downloaded on the pages). Its
    `ETag` is what a workflow step sends back in `If-Match`."""
    sub = db.session.get(Submission, submission_id)
    if sub is None or not can_view_submission(api_user(), sub):
        abort(404)
    attachments = db.session.scalars(
        sa.select(Attachment)
        .where(Attachment.submission_id == sub.id, Attachment.is_deleted.is_(False))
        .order_by(Attachment.id)
    ).all()
    body = {
        **{name: getattr(sub, name) for name in _field_names(schemas.SubmissionSummary)},
        "narrative": {k: v for k, v in (sub.narrative or {}).items() if isinstance(v, str)},
        "values": sorted(sub.values, key=lambda v: v.indicator_id),
        "attachments": attachments,
    }
    return body, 200, {"ETag": etag(sub)}


@bp.get("/audit/head")
@bp.response(200, schemas.AuditHead)
@scope(READ)
def audit_head():
    """The newest event of the tamper-evident audit chain, as every export records it: for those
    who read the trail or download exports."""
    user = api_user()
    if not (can_view_audit_trail(user) or can_export(user)):
        abort(403, description="Only those who read the audit trail or download exports see its head.")
    event_id, digest = chain.head(db.session.connection())
    return {"event_id": event_id, "hash": digest}
