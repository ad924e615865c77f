"""Signing in and out, passwords, invitations and resets. Services flush; the view commits."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from mel_app import audit
from mel_app.auth import throttle
from mel_app.auth.passwords import hash_password, password_problem, verify_password
from mel_app.auth.sessions import end_user_sessions, revoke_session
from mel_app.auth.tokens import Purpose, TokenError, TokenProblem, consume, issue, peek, void_links
from mel_app.extensions import db
from mel_app.kit.errors import DomainError
from mel_app.models import User, utcnow


class PasswordRejected(DomainError, ValueError):
    """A password is refused; str() is the message for the user, `field` the form field it is about."""

    http_status = 422

    def __init__(self, message: str, field: str = "password"):
        super().__init__(message)
        self.field = field


class Throttled(DomainError):
    """Too many failures: try again after `blocked.retry_at`."""

    http_status = 429

    def __init__(self, blocked: throttle.Blocked):
        super().__init__(f"blocked until {blocked.retry_at.isoformat()}")
        self.blocked = blocked


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def _login_keys(email: str, remote_addr: str | None) -> list[tuple[str, int]]:
    cfg = current_app.config
    keys = [(throttle.key_for("login-account", normalise_email(email)), cfg["LOGIN_FAILURES_PER_ACCOUNT"])]
    if remote_addr:
        keys.append((throttle.key_for("login-address", remote_addr), cfg["LOGIN_FAILURES_PER_ADDRESS"]))
    return keys


def authenticate(email: str, password: str, *, remote_addr: str | None) -> User | None:
    """Return the user when the email and password match an active account, else None.

    Raises Throttled, without looking at the password, while the account or the address has too
    many recent failures. Every failure is audited; the caller shows the same message for an
    unknown email and a wrong password. A right password does not sign in yet: the caller asks
    for the second factor where the account has one, then calls `complete_login`.
    """
    window = current_app.config["LOGIN_FAILURE_WINDOW"]
    keys = _login_keys(email, remote_addr)
    user = find_user_by_email(email)
    actor = audit.Actor(user.id if user else None, normalise_email(email)[:200] or "?", remote_addr)
    attempt = throttle.attempt(keys, window=window)
    if attempt.blocked is not None:
        audit.record(db.session, "user.login_throttled", actor=actor, target=user, reason="too many failures")
        raise Throttled(attempt.blocked)
    matches, needs_rehash = verify_password(user.password_hash if user else None, password)
    if user is None or not matches or not user.is_active:
        audit.record(
            db.session,
            "user.login_failed",
            actor=actor,
            target=user,
            reason="inactive account" if user is not None and matches else "bad credentials",
        )
        return None
    attempt.succeeded()
    throttle.clear(keys[0][0])
    if needs_rehash:
        user.password_hash = hash_password(password)
    return user


def complete_login(user: User, *, remote_addr: str | None, reason: str | None = None) -> None:
    """Record a finished sign-in (password, and the second factor where there is one). Flushes."""
    user.last_login_at = utcnow()
    audit.record(
        db.session, "user.login", actor=audit.actor_of(user, remote_addr), target=user, reason=reason
    )


def sign_out(user: User, *, session_token: str) -> None:
    """End this browser's session of `user`, audited (the caller commits, then logs out)."""
    revoke_session(session_token)
    audit.record(db.session, "user.logout", actor=user, target=user)


def check_new_password(user: User, password: str) -> None:
    problem = password_problem(password, user_inputs=(user.email, user.full_name))
    if problem:
        raise PasswordRejected(problem)


def change_password(user: User, *, current: str, new: str, keep_token: str | None) -> int:
    """The user's own change: needs the current password; ends every other session. Flushes.

    Raises Throttled while the account has too many recent failures (without looking at the
    password), PasswordRejected for a wrong current password (counted and audited) or a weak new
    one. Returns the number of other sessions ended.
    """
    from flask_babel import gettext as _

    # The current password is guessed here as on the sign-in page: the same count, per account.
    key = throttle.key_for("login-account", user.email)
    attempt = throttle.attempt(
        [(key, current_app.config["LOGIN_FAILURES_PER_ACCOUNT"])],
        window=current_app.config["LOGIN_FAILURE_WINDOW"],
    )
    if attempt.blocked is not None:
        audit.record(
            db.session, "user.password_change_refused", actor=user, target=user, reason="too many failures"
        )
        raise Throttled(attempt.blocked)
    matches, _rehash = verify_password(user.password_hash, current)
    if not matches:
        audit.record(
            db.session,
            "user.password_change_refused",
            actor=user,
            target=user,
            reason="wrong current password",
        )
        raise PasswordRejected(_("The current password is not right."), field="current_password")
    attempt.succeeded()
    throttle.clear(key)
    check_new_password(user, new)
    user.password_hash = hash_password(new)
    audit.record(db.session, "user.password_change", actor=user, target=user)
    # A reset link asked for before (perhaps by someone who read the mailbox) must not undo this.
    void_links(user)
    return end_user_sessions(user, keep_token=keep_token)


# --- invitations and password resets ---------------------------------------------------------


def link_user(token: str, purpose: Purpose) -> User:
    """The user a valid link is for (without using it up), or TokenError."""
    user = peek(token, purpose).user
    if not user.is_active:  # deactivated since the link was sent
        raise TokenError(TokenProblem.unknown)
    if purpose is Purpose.invitation and user.password_hash is not None:
        # Accepted another way (e.g. a password reset): the invitation has served its purpose.
        raise TokenError(TokenProblem.used)
    return user


def invite(user: User, *, actor: User | None) -> str:
    """A fresh invitation link token for an account without a password yet. Flushes."""
    token = issue(
        user, Purpose.invitation, lifetime=current_app.config["INVITATION_LIFETIME"], created_by=actor
    )
    audit.record(db.session, "user.invite", actor=actor, target=user)
    return token


def accept_invitation(token: str, *, password: str, full_name: str | None) -> User:
    """Set the invited user's password (and name) and use the link up. Flushes.

    Raises TokenError (unknown, expired, used) or PasswordRejected. The caller signs the user in.
    """
    user = link_user(token, Purpose.invitation)
    if full_name:
        user.full_name = full_name.strip()
    check_new_password(user, password)
    consume(token, Purpose.invitation)
    void_links(user)  # a reset link sent while the invitation was pending
    user.password_hash = hash_password(password)
    audit.record(db.session, "user.invitation_accepted", actor=user, target=user)
    db.session.flush()  # the note names this change, not the sign-in that follows
    return user


def request_password_reset(email: str, *, remote_addr: str | None) -> tuple[User, str] | None:
    """Count the request; return (user, token) when an active account has this email. Flushes.

    Raises Throttled when the email or the address asked too often, whether or not an account
    exists, so the answer tells nothing about the account.
    """
    cfg = current_app.config
    window = cfg["PASSWORD_RESET_WINDOW"]
    keys = [(throttle.key_for("reset-account", normalise_email(email)), cfg["PASSWORD_RESETS_PER_ACCOUNT"])]
    if remote_addr:
        keys.append((throttle.key_for("reset-address", remote_addr), cfg["LOGIN_FAILURES_PER_ADDRESS"]))
    attempt = throttle.attempt(keys, window=window)
    if attempt.blocked is not None:
        raise Throttled(attempt.blocked)
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return None
    token = issue(user, Purpose.password_reset, lifetime=cfg["PASSWORD_RESET_LIFETIME"])
    audit.record(
        db.session,
        "user.password_reset_requested",
        actor=audit.Actor(None, "anonymous", remote_addr),
        target=user,
    )
    return user, token


def reset_password(token: str, *, password: str) -> User:
    """Set a new password from a reset link, use the link up and end every session. Flushes."""
    user = link_user(token, Purpose.password_reset)
    check_new_password(user, password)
    consume(token, Purpose.password_reset)
    void_links(user)  # an invitation still pending: the account has its password now
    user.password_hash = hash_password(password)
    audit.record(db.session, "user.password_reset", actor=user, target=user)
    end_user_sessions(user)
    throttle.clear(throttle.key_for("login-account", user.email))
    return user
