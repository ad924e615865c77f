"""Account and organisation administration. Services flush; the view commits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from mel_app import audit, locking
from mel_app.auth import two_factor
from mel_app.auth.services import find_user_by_email, invite, normalise_email
from mel_app.auth.sessions import end_user_sessions
from mel_app.exports.iati_codes import ORGANISATION_TYPES, normalise_org_ref, org_ref_error
from mel_app.extensions import db
from mel_app.integers import to_int
from mel_app.kit.errors import DomainError
from mel_app.models import Membership, Organisation, OrgGroup, User
from mel_app.uniqueness import retry_on_duplicate


class AdminError(DomainError, ValueError):
    """A refused change; str() is the message for the administrator."""

    http_status = 422

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# What an account's edit form changes, and so what may have made an open form stale (the
# account's trail also holds its sign-ins and password changes, which are none of these).
USER_EDITS = (
    "user.update",
    "user.change_organisation",
    "user.grant_admin",
    "user.revoke_admin",
    "user.deactivate",
    "user.reactivate",
)


def _user_conflict(user: User) -> locking.EditConflict:
    return locking.last_change(user, USER_EDITS)


def is_pending(user: User) -> bool:
    """Invited, but has not chosen a password yet."""
    return user.password_hash is None


# --- users -----------------------------------------------------------------------------------


@retry_on_duplicate
def create_invited_user(
    *,
    email: str,
    full_name: str,
    organisation_id: int | None,
    preferred_language: str,
    is_admin: bool,
    actor: User,
) -> tuple[User, str]:
    """A new account without a password, and its invitation link token. Flushes."""
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise AdminError(_("An account with this email exists already."), field="email")
    user = User(
        email=email,
        full_name=full_name.strip(),
        organisation_id=organisation_id,
        preferred_language=preferred_language,
        is_admin=is_admin,
        password_hash=None,
        session_token=secrets.token_hex(16),
    )
    db.session.add(user)
    db.session.flush()
    return user, invite(user, actor=actor)


def resend_invitation(user: User, *, actor: User) -> str:
    if not is_pending(user) or not user.is_active:
        raise AdminError(_("This account is not waiting for an invitation."))
    return invite(user, actor=actor)


def update_user(
    user: User, *, organisation_id: int | None, is_admin: bool, expected_version: int | None, actor: User
) -> bool:
    """Change a user's organisation and administrator flag. Returns whether anything changed.

    Raises `locking.EditConflict` when the account changed since the form showed `expected_version`.
    """
    locking.claim(user, expected_version, conflict=_user_conflict)
    if is_admin != user.is_admin and user.id == actor.id:
        raise AdminError(_("You cannot take away your own administrator rights."), field="is_admin")
    org_changed = organisation_id != user.organisation_id
    admin_changed = is_admin != user.is_admin
    if not (org_changed or admin_changed):
        return False
    if org_changed:
        # A reporter keeps speaking for the constituency of the organisations they report for.
        from mel_app.members.constituency import organisation_change_problem

        problem = organisation_change_problem(user, organisation_id)
        if problem:
            raise AdminError(problem, field="organisation_id")
    user.organisation_id = organisation_id
    user.is_admin = is_admin
    if org_changed and admin_changed:
        action = "user.update"
    elif org_changed:
        action = "user.change_organisation"
    else:
        action = "user.grant_admin" if is_admin else "user.revoke_admin"
    audit.record(db.session, action, actor=actor, target=user)
    return True


def deactivate_user(user: User, *, actor: User, reason: str = "") -> int:
    """Deactivate and sign out everywhere at once. Returns the number of sessions ended."""
    if user.id == actor.id:
        raise AdminError(_("You cannot deactivate your own account."))
    if not user.is_active:
        raise AdminError(_("This account is deactivated already."))
    user.is_active = False
    audit.record(db.session, "user.deactivate", actor=actor, target=user, reason=reason.strip() or None)
    return end_user_sessions(user)


def reactivate_user(user: User, *, actor: User) -> None:
    if user.is_active:
        raise AdminError(_("This account is active already."))
    user.is_active = True
    audit.record(db.session, "user.reactivate", actor=actor, target=user)


def reset_two_factor(user: User, *, actor: User, reason: str = "") -> None:
    """Remove a user's second factor (a lost or replaced phone) and their recovery codes. Flushes.

    Where their role requires it, they set it up again at their next page or sign-in.
    """
    if user.id == actor.id:
        raise AdminError(_("You cannot reset your own two-factor sign-in."))
    if not two_factor.has_second_factor(user):
        raise AdminError(_("This account has no two-factor sign-in to reset."))
    two_factor.reset(user, actor=actor, reason=reason)


def end_sessions(user: User, *, actor: User, keep_token: str | None = None) -> int:
    """Sign a user out everywhere (but the administrator's own current session)."""
    ended = end_user_sessions(user, keep_token=keep_token if user.id == actor.id else None)
    audit.record(db.session, "user.sessions_ended", actor=actor, target=user, reason="by an administrator")
    return ended


def search_users(*, q: str = "", status: str = "", organisation: str = "") -> sa.Select:
    """Users matching every filter given; `organisation` is an id, or part of a name or acronym."""
    stmt = sa.select(User).options(joinedload(User.organisation))
    if q:
        needle = q.strip().lower()
        stmt = stmt.where(
            sa.or_(
                User.email.contains(needle, autoescape=True),
                sa.func.lower(User.full_name).contains(needle, autoescape=True),
            )
        )
    if status == "active":
        stmt = stmt.where(User.is_active.is_(True), User.password_hash.is_not(None))
    elif status == "pending":
        stmt = stmt.where(User.is_active.is_(True), User.password_hash.is_(None))
    elif status == "deactivated":
        stmt = stmt.where(User.is_active.is_(False))
    elif status == "admin":
        stmt = stmt.where(User.is_admin.is_(True))
    organisation = organisation.strip()
    if (organisation_id := to_int(organisation)) is not None:
        stmt = stmt.where(User.organisation_id == organisation_id)
    elif organisation:
        stmt = stmt.where(
            User.organisation_id.in_(sa.select(Organisation.id).where(_name_or_acronym(organisation)))
        )
    return stmt.order_by(sa.func.lower(User.full_name), User.id)


def user_memberships(user: User) -> list[Membership]:
    """The person's memberships, with each project and organisation, by project then role."""
    return list(
        db.session.scalars(
            sa.select(Membership)
            .where(Membership.user_id == user.id)
            .options(joinedload(Membership.project), joinedload(Membership.organisation))
            .order_by(Membership.project_id, Membership.role)
        )
    )


# --- organisations ---------------------------------------------------------------------------


def _name_or_acronym(text: str) -> sa.ColumnElement[bool]:
    needle = text.strip().lower()
    return sa.or_(
        sa.func.lower(Organisation.name).contains(needle, autoescape=True),
        sa.func.lower(Organisation.acronym).contains(needle, autoescape=True),
    )


@dataclass(frozen=True)
class OrganisationList:
    """The organisations a select offers: all of them, or, in a long portfolio, one country's."""

    rows: list[sa.Row[Any]]
    total: int
    narrowed: bool
    country: str | None


def organisation_choices(
    *, limit: int, country: str | None = None, keep: int | None = None
) -> OrganisationList:
    """Organisations (id, name, acronym) by name, for a select.

    Every one while there are at most `limit`; beyond, those of `country` (by default the country
    of `keep`) and `keep` itself, the current or submitted choice: thousands of options would make
    the page weigh hundreds of kilobytes."""
    total = db.session.scalar(sa.select(sa.func.count(Organisation.id))) or 0
    query = sa.select(Organisation.id, Organisation.name, Organisation.acronym).order_by(
        sa.func.lower(Organisation.name)
    )
    if total <= limit:
        return OrganisationList(list(db.session.execute(query)), total, False, country)
    if country is None and keep is not None:
        country = db.session.scalar(sa.select(Organisation.country).where(Organisation.id == keep))
    shown = [Organisation.id == keep] if keep is not None else []
    if country is not None:
        shown.append(Organisation.country == country)
    rows = list(db.session.execute(query.where(sa.or_(*shown)))) if shown else []
    return OrganisationList(rows, total, True, country)


def search_organisations(
    *, q: str = "", group: str = "", country: str = ""
) -> sa.Select[tuple[Organisation]]:
    """Organisations matching every filter given (part of the name or acronym, group, country)."""
    stmt = sa.select(Organisation).options(joinedload(Organisation.parent))
    if q.strip():
        stmt = stmt.where(_name_or_acronym(q))
    if group:
        stmt = stmt.where(Organisation.group == OrgGroup(group))
    if country:
        stmt = stmt.where(Organisation.country == country)
    return stmt.order_by(sa.func.lower(Organisation.name), Organisation.id)


def descendant_ids(org_id: int) -> set[int]:
    """Every organisation below this one (children, their children, ...)."""
    found: set[int] = set()
    frontier = {org_id}
    while frontier:
        children = set(
            db.session.scalars(sa.select(Organisation.id).where(Organisation.parent_id.in_(frontier)))
        )
        frontier = children - found - {org_id}
        found |= frontier
    return found


def _check_organisation(
    org: Organisation | None, *, name: str, parent_id: int | None, iati_ref: str | None, iati_type: str | None
) -> None:
    if message := org_ref_error(iati_ref):
        raise AdminError(message, field="iati_ref")
    if iati_type is not None and iati_type not in ORGANISATION_TYPES:
        raise AdminError(_("Choose an organisation type from the list."), field="iati_type")
    clash = db.session.scalar(
        sa.select(Organisation.id).where(sa.func.lower(Organisation.name) == name.strip().lower())
    )
    if clash is not None and (org is None or clash != org.id):
        raise AdminError(_("An organisation with this name exists already."), field="name")
    if parent_id is not None:
        if db.session.get(Organisation, parent_id) is None:
            raise AdminError(_("Choose a parent organisation from the list."), field="parent_id")
        if org is not None and (parent_id == org.id or parent_id in descendant_ids(org.id)):
            raise AdminError(
                _("An organisation cannot be part of itself or of one of its own members."), field="parent_id"
            )


@retry_on_duplicate
def create_organisation(
    *,
    name: str,
    acronym: str,
    group: OrgGroup,
    country: str | None,
    parent_id: int | None,
    actor: User,
    iati_ref: str | None = None,
    iati_type: str | None = None,
) -> Organisation:
    iati_ref, iati_type = normalise_org_ref(iati_ref), iati_type or None
    _check_organisation(None, name=name, parent_id=parent_id, iati_ref=iati_ref, iati_type=iati_type)
    org = Organisation(
        name=name.strip(),
        acronym=acronym.strip() or None,
        group=group,
        country=country or None,
        parent_id=parent_id,
        iati_ref=iati_ref,
        iati_type=iati_type,
    )
    db.session.add(org)
    audit.record(db.session, "organisation.create", actor=actor, target=org)
    db.session.flush()
    return org


@retry_on_duplicate
def update_organisation(
    org: Organisation,
    *,
    name: str,
    acronym: str,
    group: OrgGroup,
    country: str | None,
    parent_id: int | None,
    expected_version: int | None,
    actor: User,
    iati_ref: str | None = None,
    iati_type: str | None = None,
) -> None:
    """Raises `locking.EditConflict` when the organisation changed since the form showed
    `expected_version`."""
    locking.claim(org, expected_version)
    iati_ref, iati_type = normalise_org_ref(iati_ref), iati_type or None
    _check_organisation(org, name=name, parent_id=parent_id, iati_ref=iati_ref, iati_type=iati_type)
    org.name = name.strip()
    org.acronym = acronym.strip() or None
    org.group = group
    org.country = country or None
    org.parent_id = parent_id
    org.iati_ref = iati_ref
    org.iati_type = iati_type
    audit.record(db.session, "organisation.update", actor=actor, target=org)
