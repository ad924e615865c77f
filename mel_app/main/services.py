from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app

from mel_app.extensions import db
from mel_app.models import Project
from mel_app.permissions import visible_project_ids


def home_projects(user: Any, limit: int = 50) -> list[Project]:
    """The projects the user takes part in (all projects for administrators), newest first."""
    return list(
        db.session.scalars(
            sa.select(Project)
            .where(Project.id.in_(visible_project_ids(user)))
            .order_by(Project.reference)
            .limit(limit)
        )
    )


def database_answers() -> bool:
    """Whether the database answers a round trip (for the health check)."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception:  # any database failure means "not ready"
        current_app.logger.warning("health check: database unavailable", exc_info=True)
        db.session.rollback()
        return False
    return True
