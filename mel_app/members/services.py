"""Adding and removing project members. Services flush; the view commits."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from mel_app import audit
from mel_app.auth.services import find_user_by_email, invite, normalise_email
from mel_app.extensions import db
from mel_app.kit.errors import DomainError
from mel_app.members.constituency import reporter_problem
from mel_app.models import Membership, Organisation, Project, Role, User
from mel_app.uniqueness import retry_on_duplicate


class MembershipError(DomainError, ValueError):
    """A refused change; str() is the message for the user, `field` the form field concerned."""

    http_status = 422

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@retry_on_duplicate
def add_member(
    project: Project,
    *,
    email: str,
    full_name: str,
    role: Role,
    organisation_id: int | None,
    actor: User,
) -> tuple[Membership, str | None]:
    """Give a person a role in the project; invite them when they have no account yet.

    Returns the membership and, for a new account, the invitation token to email. Flushes.
    """
    user = find_user_by_email(email)
    if role is Role.reporter:
        organisation = db.session.get(Organisation, organisation_id) if organisation_id is not None else None
        problem = reporter_problem(user, organisation, project)
        if problem:
            raise MembershipError(problem, field="organisation_id")
    else:
        organisation_id = None
    token = None
    if user is None:
        user = User(
            email=normalise_email(email),
            full_name=(full_name or "").strip() or normalise_email(email).split("@")[0],
            organisation_id=organisation_id,
            password_hash=None,
            session_token=secrets.token_hex(16),
        )
        db.session.add(user)
        db.session.flush()
        token = invite(user, actor=actor)
    elif not user.is_active:
        raise MembershipError(
            _("This account is deactivated. An administrator can reactivate it."), field="email"
        )
    elif user.password_hash is None:
        token = invite(user, actor=actor)  # invited before but never accepted: a fresh link
    existing = db.session.scalar(
        sa.select(Membership).where(
            Membership.user_id == user.id, Membership.project_id == project.id, Membership.role == role
        )
    )
    if existing is not None:
        raise MembershipError(_("This person has this role in the project already."), field="role")
    membership = Membership(user=user, project=project, role=role, organisation_id=organisation_id)
    db.session.add(membership)
    audit.record(db.session, "membership.add", actor=actor, target=membership)
    db.session.flush()
    return membership, token


def remove_member(membership: Membership, *, actor: User) -> None:
    """Take a role away. The last specialist of a project cannot be removed (nobody could manage it)."""
    if membership.role is Role.specialist:
        specialists = db.session.scalar(
            sa.select(sa.func.count(Membership.id)).where(
                Membership.project_id == membership.project_id, Membership.role == Role.specialist
            )
        )
        if specialists <= 1:
            raise MembershipError(
                _("This is the project's only specialist. Add another specialist before removing this one.")
            )
    audit.record(db.session, "membership.remove", actor=actor, target=membership)
    db.session.delete(membership)
    db.session.flush()


def members_query(project: Project) -> sa.Select[tuple[Membership]]:
    """The members page's list: by role, then name, with each person and organisation."""
    return (
        sa.select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.project_id == project.id)
        .options(joinedload(Membership.user), joinedload(Membership.organisation))
        .order_by(Membership.role, sa.func.lower(User.full_name), Membership.id)
    )
