"""The organisations taking part in a project (its partners): the one query every feature asks.

Reporters report for one of them, a result may name one as responsible, a recommendation may be
addressed to one, an outcome statement may name those that contributed. All read the same list,
in the same order (by name, whatever its case), so a form offers what the service accepts.
"""

from __future__ import annotations

import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import Organisation, Partner


def partner_organisations(project_id: int) -> list[Organisation]:
    """The project's partner organisations, by name."""
    return list(
        db.session.scalars(
            sa.select(Organisation)
            .join(Partner, Partner.organisation_id == Organisation.id)
            .where(Partner.project_id == project_id)
            .order_by(sa.func.lower(Organisation.name), Organisation.id)
        )
    )
