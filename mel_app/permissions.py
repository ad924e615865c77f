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


# --- projects ---
def _has_any_role(user: Any, *roles: Role) -> bool:
    """Whether the user holds one of the roles in at least one project (memoised for the request)."""
    if not _authenticated(user):
        return False
    cache: dict[tuple[int, frozenset[Role]], bool] = g.setdefault("_any_role_cache", {})
    key = (user.id, frozenset(roles))
    if key not in cache:
        cache[key] = (
            db.session.scalar(
                sa.select(Membership.id)
                .where(Membership.user_id == user.id, Membership.role.in_(roles))
                .limit(1)
            )
            is not None
        )
    return cache[key]


def can_create_project(user: Any, _obj: Any = None) -> bool:
    """Administrators, and specialists of at least one project. The creator becomes its specialist."""
    return is_admin(user) or _has_any_role(user, Role.specialist)


def can_edit_project(user: Any, project: Project) -> bool:
    """Project details, partners, results framework and reporting periods: the project's specialists."""
    return _authenticated(user) and has_role(user, project, Role.specialist)


def can_edit_framework(user: Any, project: Project) -> bool:
    return can_edit_project(user, project)


def can_manage_periods(user: Any, project: Project) -> bool:
    return can_edit_project(user, project)


def can_view_portfolio(user: Any, _obj: Any = None) -> bool:
    return is_admin(user) or _has_any_role(user, Role.specialist, Role.evaluator)


def portfolio_project_ids(user: Any) -> sa.Select:
    """Projects on the user's portfolio: all for administrators, else where specialist or evaluator."""
    if is_admin(user):
        return sa.select(Project.id)
    return sa.select(Membership.project_id).where(
        Membership.user_id == (user.id if _authenticated(user) else -1),
        Membership.role.in_((Role.specialist, Role.evaluator)),
    )


def can_view_all_report_statuses(user: Any, project: Project) -> bool:
    """Every organisation's row of the status grid; reporters see only their own organisation's."""
    return is_admin(user) or has_role(user, project, Role.specialist, Role.evaluator, Role.observer)


TEMPLATE_PREDICATES.update(
    {
        "create_project": can_create_project,
        "edit_project": can_edit_project,
        "edit_framework": can_edit_framework,
        "manage_periods": can_manage_periods,
        "view_portfolio": can_view_portfolio,
        "view_all_report_statuses": can_view_all_report_statuses,
    }
)
