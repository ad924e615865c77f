"""Organisations, user accounts and their server-side sessions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mel_app.models.base import Base, OrgGroup, TimestampMixin, Versioned, str_enum, utcnow

if TYPE_CHECKING:
    from mel_app.models.project import Membership


class Organisation(Versioned, TimestampMixin, Base):
    __tablename__ = "organisation"
    __audited__ = True
    __table_args__ = (
        sa.CheckConstraint("length(country) = 2 OR country IS NULL", name="country_alpha2"),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    acronym: Mapped[str | None] = mapped_column(sa.String(40))
    group: Mapped[OrgGroup] = mapped_column(str_enum(OrgGroup), index=True)
    country: Mapped[str | None] = mapped_column(sa.String(2), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    is_fictional: Mapped[bool] = mapped_column(default=False)
    # For the IATI file: the organisation identifier (org-id.guide) and the OrganisationType code
    # when it differs from the default of its constituency.
    iati_ref: Mapped[str | None] = mapped_column(sa.String(100))
    iati_type: Mapped[str | None] = mapped_column(sa.String(2))

    parent: Mapped[Organisation | None] = relationship(remote_side=[id])
    users: Mapped[list[User]] = relationship(back_populates="organisation")

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.acronym or self.name}>"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.acronym})" if self.acronym else self.name


class User(Versioned, TimestampMixin, Base):
    __tablename__ = "user"
    __audited__ = True
    # Secrets never reach the trail; the last used time step changes at every sign-in with a code
    # and says nothing a reader needs (the sign-in itself is recorded).
    __audit_exclude__ = frozenset(
        {"password_hash", "session_token", "totp_secret", "totp_last_step", "last_seen_at"}
    )
    # An administrator edits the organisation and the administrator flag (and deactivates): the
    # person's own sign-ins, password, second factor and preferences do not make that form stale.
    __version_ignores__ = frozenset(
        {
            "created_at",
            "updated_at",
            "last_login_at",
            "last_seen_at",
            "password_hash",
            "session_token",
            "totp_secret",
            "totp_enabled_at",
            "totp_last_step",
            "preferred_language",
            "time_zone",
        }
    )
    __table_args__ = (
        # Emails are stored lower-cased, so the unique constraint is case-insensitive.
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    preferred_language: Mapped[str] = mapped_column(sa.String(5), default="en")
    # An IANA zone name (Africa/Nairobi) for every time shown to this user; None: the default.
    time_zone: Mapped[str | None] = mapped_column(sa.String(64))
    last_login_at: Mapped[datetime | None]
    # Changes on password change and deactivation, which revokes every session at once.
    session_token: Mapped[str] = mapped_column(sa.String(64))
    # Two-factor sign-in: a secret without `totp_enabled_at` is an enrolment not yet confirmed.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[datetime | None]
    # The time step of the last code accepted: a code is good once, even inside its window.
    totp_last_step: Mapped[int | None]
    is_demo: Mapped[bool] = mapped_column(default=False)

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")
    memberships: Mapped[list[Membership]] = relationship(back_populates="user")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"

    # Flask-Login protocol, written out so that nothing depends on a mixin's defaults.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # The cookie carries the per-session token, never the bare user id; see auth.sessions.
        return getattr(self, "_session_key", "") or ""

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None and self.totp_secret is not None


class UserSession(Base):
    """A server-side login session; the cookie holds only a random token whose hash is stored here."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    remote_addr: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))

    user: Mapped[User] = relationship()


class OneTimeToken(Base):
    """Invitation and password-reset links: single use, expiring, stored only as a hash."""

    __tablename__ = "one_time_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(sa.String(20))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class RecoveryCode(Base):
    """One-time codes for signing in without the authenticator app, stored only as salted hashes.

    Not audited row by row (ten rows per set would bury the trail); the services record one event
    when a set is issued and one when a code is used.
    """

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    # "salt$sha256(salt:code)": the codes are random enough that a fast hash is enough.
    code_hash: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Failed sign-in attempts, shared by every worker, for throttling by account and by address."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(300), index=True)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
