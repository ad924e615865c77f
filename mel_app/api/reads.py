"""The read endpoints: each shows exactly what the token's owner sees on the pages.

Lists are filtered in SQL by the predicates of mel_app/permissions.py (visible_project_ids,
visible_submission_filter); single objects are checked with the same can_view_* functions as the
pages, and one the owner may not know of is a 404, as on the pages.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from types import SimpleNamespace
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
    Organisation,
    Partner,
    Project,
    ProjectCountry,
    ProjectSector,
    ProjectTag,
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


# The parts of a project read from tables of their own (`_project_parts`), not from its row.
PROJECT_PARTS = ("countries", "sectors", "tags", "partners")


def _project_parts(ids: list[int]) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """Each project's countries, sectors, ILO tags and partner organisations as plain rows, four
    statements for a page of projects: as ORM objects, the thousand-odd rows of a page of a
    hundred projects were most of the answer's cost."""
    parts: dict[int, dict[str, list[dict[str, Any]]]] = {
        project_id: {part: [] for part in PROJECT_PARTS} for project_id in ids
    }
    if not ids:
        return parts
    queries = {
        "countries": sa.select(ProjectCountry.project_id, ProjectCountry.country, ProjectCountry.percentage)
        .where(ProjectCountry.project_id.in_(ids)),
        "sectors": sa.select(ProjectSector.project_id, ProjectSector.code, ProjectSector.percentage)
        .where(ProjectSector.project_id.in_(ids)),
        "tags": sa.select(ProjectTag.project_id, ProjectTag.scheme, ProjectTag.code)
        .where(ProjectTag.project_id.in_(ids)),
        "partners": sa.select(
            Partner.project_id,
            Organisation.id,
            Organisation.name,
            Organisation.acronym,
            Organisation.group,
            Organisation.country,
        )
        .join(Organisation, Organisation.id == Partner.organisation_id)
        .where(Partner.project_id.in_(ids)),
    }
    for part, query in queries.items():
        for row in db.session.execute(query).mappings():
            parts[row["project_id"]][part].append(dict(row))
    return parts


def _project_out(project: Project, parts: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        **{
            c: getattr(project, c)
            for c in _field_names(schemas.Project)
            if c not in PROJECT_PARTS and hasattr(project, c)
        },
        "countries": sorted(parts["countries"], key=lambda c: c["country"]),
        "sectors": sorted(parts["sectors"], key=lambda s: s["code"]),
        "tags": _tags(SimpleNamespace(**t) for t in parts["tags"]),
        "partners": sorted(parts["partners"], key=lambda o: o["id"]),
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
    found = _page(query, args, key_column=Project.reference, id_column=Project.id)
    parts = _project_parts([project.id for project in found["items"]])
    return {**found, "items": [_project_out(project, parts[project.id]) for project in found["items"]]}


@bp.get("/projects/<int:project_id>")
@bp.response(200, schemas.Project)
@scope(READ)
def project(project_id: int):
    """One project, with its countries, sectors and partner organisations."""
    project = _project(project_id)
    return _project_out(project, _project_parts([project.id])[project.id])


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
