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


# --- exports ---
# Who may download consolidated results (issue 8), as SQL subqueries so that every export applies
# the rules inside its queries. Specialists, evaluators and observers of a project may export it;
# administrators may export everything (read-only). A membership as reporter alone gives no export:
# a reporter reads their own organisation's reports in the app, and an export of a whole project
# would put other organisations' data (and the names behind it) in a file that leaves the app.
from mel_app.models import Evaluation, EvaluationStatus, Scorecard, ScorecardStatus  # noqa: E402

EXPORT_ROLES = (Role.specialist, Role.evaluator, Role.observer)
# Roles that may include reports not yet approved, and roles that may see who gave which score.
UNAPPROVED_EXPORT_ROLES = (Role.specialist,)
SCORER_NAME_ROLES = (Role.specialist, Role.evaluator)


class _SystemReader:
    """The command line (`flask export`): reads everything, as the system actor."""

    is_authenticated = False
    is_active = False
    id = None

    def __repr__(self) -> str:
        return "<system reader>"


SYSTEM_READER = _SystemReader()


def _project_ids_with_roles(user: Any, roles: tuple[Role, ...]) -> sa.Select:
    return sa.select(Membership.project_id).where(
        Membership.user_id == (user.id if _authenticated(user) else -1),
        Membership.role.in_(roles),
        Membership.project_id.in_(visible_project_ids(user)),
    )


def exportable_project_ids(user: Any) -> sa.Select:
    """Projects whose data the user may download."""
    if user is SYSTEM_READER or is_admin(user):
        return sa.select(Project.id)
    return _project_ids_with_roles(user, EXPORT_ROLES)


def unapproved_export_project_ids(user: Any) -> sa.Select:
    """Projects where the user may include submitted and returned reports, not only approved ones."""
    if user is SYSTEM_READER or is_admin(user):
        return sa.select(Project.id)
    return _project_ids_with_roles(user, UNAPPROVED_EXPORT_ROLES)


def scorer_names_project_ids(user: Any) -> sa.Select:
    """Projects where the user may see who gave which score (evaluators and specialists)."""
    if user is SYSTEM_READER:
        return sa.select(Project.id)
    return _project_ids_with_roles(user, SCORER_NAME_ROLES)


def open_evaluation_project_ids(user: Any) -> sa.Select:
    """Projects where the user may read the scores of evaluations still open. Observers read only
    closed evaluations (their final results), as they read only approved reports."""
    if user is SYSTEM_READER or is_admin(user):
        return sa.select(Project.id)
    return _project_ids_with_roles(user, SCORER_NAME_ROLES)


def hidden_evaluation_ids(user: Any) -> sa.Select:
    """Open evaluations the user scores and has not yet submitted a scorecard for: they see none of
    it, so nobody anchors on someone else's opinion."""
    if user is SYSTEM_READER:
        return sa.select(Evaluation.id).where(sa.false())
    return (
        sa.select(Scorecard.evaluation_id)
        .join(Evaluation, Evaluation.id == Scorecard.evaluation_id)
        .where(
            Scorecard.scorer_id == (user.id if _authenticated(user) else -1),
            Scorecard.status != ScorecardStatus.submitted,
            Evaluation.status == EvaluationStatus.open,
        )
    )


def can_export(user: Any, obj: Any = None) -> bool:
    """May open the Downloads page: an administrator, or a specialist, evaluator or observer somewhere."""
    if is_admin(user):
        return True
    if not _authenticated(user):
        return False
    cache = g.setdefault("_can_export_cache", {})
    if user.id not in cache:
        cache[user.id] = (
            db.session.scalar(sa.select(sa.exists(_project_ids_with_roles(user, EXPORT_ROLES)))) or False
        )
    return cache[user.id]


def can_export_unapproved(user: Any, obj: Any = None) -> bool:
    """May include reports that are not yet approved in some project (specialists, administrators)."""
    if is_admin(user):
        return True
    if not _authenticated(user):
        return False
    return bool(
        db.session.scalar(sa.select(sa.exists(_project_ids_with_roles(user, UNAPPROVED_EXPORT_ROLES))))
    )


TEMPLATE_PREDICATES.update({"export": can_export, "export_unapproved": can_export_unapproved})
