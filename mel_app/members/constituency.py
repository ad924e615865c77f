"""Who may report for which organisation: one rule, used by every path that attaches a reporter.

A reporter writes an organisation's reports and scores evaluations for its constituency (workers,
employers, government…), so a reporter's organisation must be one of the project's partners and
belong to the constituency the reporter's own organisation speaks for: a union official never
reports for the employers' federation. A national centre may report for its regional federation
(they share the constituency).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from mel_app.enum_labels import label
from mel_app.extensions import db
from mel_app.models import Membership, Organisation, Partner, Project, Role, User


def reporter_problem(user: User | None, organisation: Organisation | None, project: Project) -> str | None:
    """Why `user` may not report for `organisation` in `project`, or None when they may.

    `user` is None for a person invited now, whose account takes the organisation they report for.
    """
    if organisation is None:
        return _("A reporter reports for an organisation: choose it.")
    is_partner = db.session.scalar(
        sa.select(Partner.id).where(
            Partner.project_id == project.id, Partner.organisation_id == organisation.id
        )
    )
    if is_partner is None:
        return _(
            "%(organisation)s is not a partner of %(reference)s. Add it to the project's partners first.",
            organisation=organisation.name,
            reference=project.reference,
        )
    if user is None:
        return None
    own = user.organisation
    if own is None:
        return _(
            "%(name)s's account has no organisation, so the constituency they speak for is unknown. "
            "An administrator can set it in Users; then add them as reporter.",
            name=user.display_name,
        )
    if own.group is not organisation.group:
        return _(
            "%(name)s belongs to %(own)s (%(own_group)s) and cannot report for %(organisation)s "
            "(%(group)s): a reporter speaks for their own constituency.",
            name=user.display_name,
            own=own.name,
            own_group=label(own.group),
            organisation=organisation.name,
            group=label(organisation.group),
        )
    return None


def organisation_change_problem(user: User, organisation_id: int | None) -> str | None:
    """Why the user's own organisation may not become `organisation_id`: a reporter's projects
    would then have them speak for another constituency. None when the change is fine."""
    new = db.session.get(Organisation, organisation_id) if organisation_id is not None else None
    reporting = db.session.execute(
        sa.select(Organisation.name, Organisation.group, Project.reference)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .join(Project, Project.id == Membership.project_id)
        .where(Membership.user_id == user.id, Membership.role == Role.reporter)
        .order_by(Project.reference)
    ).all()
    clashes = [row for row in reporting if new is None or row.group is not new.group]
    if not clashes:
        return None
    return _(
        "%(name)s reports for %(organisation)s (%(group)s) in %(reference)s. Remove them as reporter "
        "there first, or choose an organisation of the same constituency.",
        name=user.display_name,
        organisation=clashes[0].name,
        group=label(clashes[0].group),
        reference=clashes[0].reference,
    )
