"""Every access rule of the app, in one place (DESIGN.md §1–2).

Predicates `can_<verb>(user, obj) -> bool` are used by views, templates (to hide what a user may
not use) and tests alike. Deny by default. A non-member gets 404 for anything of a project, so
they cannot even learn that it exists; a member without the right role gets 403.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, g

from mel_app.extensions import db
from mel_app.models import Membership, Project, Role


def _authenticated(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def roles_in(user: Any, project_id: int) -> frozenset[Role]:
    """The user's roles in a project, memoised for the request (one query per project)."""
    if not _authenticated(user):
        return frozenset()
    cache: dict[tuple[int, int], frozenset[Role]] = g.setdefault("_roles_cache", {})
    key = (user.id, project_id)
    if key not in cache:
        cache[key] = frozenset(
            db.session.scalars(
                sa.select(Membership.role).where(
                    Membership.user_id == user.id, Membership.project_id == project_id
                )
            )
        )
    return cache[key]


def has_role(user: Any, project: Project | int, *roles: Role) -> bool:
    project_id = project if isinstance(project, int) else project.id
    return bool(roles_in(user, project_id) & set(roles))


def is_member(user: Any, project: Project | int) -> bool:
    project_id = project if isinstance(project, int) else project.id
    return bool(roles_in(user, project_id))


def is_admin(user: Any) -> bool:
    return _authenticated(user) and bool(user.is_admin)


def can_view_project(user: Any, project: Project) -> bool:
    return is_admin(user) or is_member(user, project)


def visible_project_ids(user: Any) -> sa.Select:
    """A subquery of the ids of projects the user may see, for filtering lists in SQL."""
    if is_admin(user):
        return sa.select(Project.id)
    return sa.select(Membership.project_id).where(
        Membership.user_id == (user.id if _authenticated(user) else -1)
    )


def require(allowed: bool, *, visible: bool = False) -> None:
    """Abort unless allowed: 403 when the user may see the object, else 404."""
    if not allowed:
        abort(403 if visible else 404)


def require_project_access(user: Any, project: Project) -> None:
    """404 for anyone who may not know that the project exists."""
    require(can_view_project(user, project))


# Functions templates may call, e.g. {% if can('view_project', project) %}.
TEMPLATE_PREDICATES = {
    "view_project": can_view_project,
}


def can(user: Any, action: str, obj: Any = None) -> bool:
    predicate = TEMPLATE_PREDICATES.get(action)
    if predicate is None:
        return False  # deny unknown actions rather than guess
    return bool(predicate(user, obj))


# --- audit ---
# Who reads which part of the audit trail. Conservative: a history shows every past value of a
# record, so only those who may see all of it today read it.


def _specialist_project_ids(user: Any) -> sa.Select:
    return sa.select(Membership.project_id).where(
        Membership.user_id == (user.id if _authenticated(user) else -1), Membership.role == Role.specialist
    )


def can_view_audit_trail(user: Any, obj: Any = None) -> bool:
    """Administrators read the whole trail; specialists the trail of their projects."""
    if not _authenticated(user):
        return False
    if is_admin(user):
        return True
    cache: dict[int, bool] = g.setdefault("_trail_cache", {})
    if user.id not in cache:
        cache[user.id] = bool(db.session.scalar(sa.select(sa.exists(_specialist_project_ids(user)))))
    return cache[user.id]


def audit_trail_project_ids(user: Any) -> sa.Select | None:
    """The projects whose events the user may read in the trail; None means every event."""
    return None if is_admin(user) else _specialist_project_ids(user)


def can_see_remote_addresses(user: Any) -> bool:
    # Addresses can identify a person: administrators only.
    return is_admin(user)


def _reports_for(user: Any, project_id: int, organisation_id: int) -> bool:
    cache: dict[tuple[int, int, int], bool] = g.setdefault("_reporter_cache", {})
    key = (user.id, project_id, organisation_id)
    if key not in cache:
        cache[key] = bool(
            db.session.scalar(
                sa.select(
                    sa.exists().where(
                        Membership.user_id == user.id,
                        Membership.project_id == project_id,
                        Membership.role == Role.reporter,
                        Membership.organisation_id == organisation_id,
                    )
                )
            )
        )
    return cache[key]


def can_view_history(user: Any, obj: Any) -> bool:
    """The History tab of a record: administrators; specialists of its project; reporters for
    their own organisation's submissions; a scorer for their own scorecard; a user for their own
    account. Records outside any project (organisations, criteria sets, scales): administrators."""
    from mel_app.audit.capture import project_id_of
    from mel_app.models import Scorecard, Submission, User

    if not _authenticated(user) or obj is None:
        return False
    if is_admin(user):
        return True
    if isinstance(obj, User):
        return obj.id == user.id
    project_id = project_id_of(obj) if getattr(type(obj), "__audited__", False) else None
    if project_id is None:
        return False
    if has_role(user, project_id, Role.specialist):
        return True
    if isinstance(obj, Submission):
        return _reports_for(user, project_id, obj.organisation_id)
    if isinstance(obj, Scorecard):
        return obj.scorer_id == user.id
    return False


def can_view_internal_history(user: Any, project_id: int | None) -> bool:
    """ILO-internal parts of a history (comments of every visibility): administrators, specialists."""
    return is_admin(user) or (project_id is not None and has_role(user, project_id, Role.specialist))


def may_know_of_history(user: Any, obj: Any) -> bool:
    """Whether a refused history is answered 403 (the user knows the record) rather than 404.

    Members of the project other than reporters know its records exist; reporters only know
    their own organisation's, and nobody learns of another user's account."""
    from mel_app.audit.capture import project_id_of
    from mel_app.models import Project, User

    if not _authenticated(user) or obj is None or isinstance(obj, User):
        return False
    project_id = project_id_of(obj) if getattr(type(obj), "__audited__", False) else None
    if project_id is None:
        return True  # organisations, criteria sets and scales are known to every user
    roles = roles_in(user, project_id)
    return bool(roles - {Role.reporter}) or (bool(roles) and isinstance(obj, Project))


TEMPLATE_PREDICATES.update(
    {
        "view_audit_trail": can_view_audit_trail,
        "view_history": can_view_history,
    }
)
