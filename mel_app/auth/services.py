"""Signing in and out. Flushes; the view commits."""

from __future__ import annotations

import sqlalchemy as sa

from mel_app import audit
from mel_app.auth.passwords import hash_password, verify_password
from mel_app.extensions import db
from mel_app.models import User, utcnow


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def authenticate(email: str, password: str, *, remote_addr: str | None) -> User | None:
    """Return the user when the email and password match an active account, else None.

    Both outcomes are audited; the caller shows the same message for an unknown email and a
    wrong password.
    """
    user = find_user_by_email(email)
    matches, needs_rehash = verify_password(user.password_hash if user else None, password)
    if user is None or not matches or not user.is_active:
        audit.record(
            db.session,
            "user.login_failed",
            actor=audit.Actor(user.id if user else None, normalise_email(email)[:200] or "?", remote_addr),
            target=user,
            reason="inactive account" if user is not None and matches else "bad credentials",
        )
        return None
    if needs_rehash:
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record(db.session, "user.login", actor=audit.actor_of(user, remote_addr), target=user)
    return user
