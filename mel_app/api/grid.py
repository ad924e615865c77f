"""A project's reporting status grid, as the project page shows it to the token's owner: the same
loader (mel_app/projects/services.py), the same rows (a reporter sees their own organisation's
only) and the same links (a cell names its report only when the owner may open it)."""

from __future__ import annotations

from typing import Any

from mel_app.api import schemas_reads
from mel_app.api.reads import _project
from mel_app.api.views import READ, api_user, bp, scope
from mel_app.projects import grid as grid_mod
from mel_app.projects import services as projects
from mel_app.projects.periods import project_periods


def _cell(period: grid_mod.GridPeriod, cell: grid_mod.Cell, openable: set[int]) -> dict[str, Any]:
    return {
        "period_id": period.id,
        "status": cell.status,
        "overdue": cell.is_overdue,
        "submission_status": cell.submission_status,
        "submission_id": cell.submission_id if cell.submission_id in openable else None,
    }


@bp.get("/projects/<int:project_id>/status-grid")
@bp.response(200, schemas_reads.StatusGrid)
@scope(READ)
def status_grid(project_id: int):
    """The project's reporting status grid, as its page shows it to you.

    A row per partner organisation that reports (a reporter sees their own organisation's only),
    a cell per reporting period with the state of its report: not started, draft, submitted,
    returned, approved or overdue."""
    project, user = _project(project_id), api_user()
    today = projects.reporting_day()
    rows_of = projects.status_grid_organisations(user, project)
    grid = projects.build_status_grid(
        project,
        projects.project_partners(project),
        project_periods(project),
        today=today,
        reporter_organisation_ids=rows_of,
    )
    openable = projects.openable_submission_ids(user, project)
    return {
        "project_id": project.id,
        "as_of": today,
        "partial": rows_of is not None,
        "periods": grid.periods,
        "rows": [
            {
                "organisation": row.organisation,
                "cells": [
                    _cell(period, cell, openable)
                    for period, cell in zip(grid.periods, row.cells, strict=True)
                ],
            }
            for row in grid.rows
        ],
    }
