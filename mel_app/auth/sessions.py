"""Server-side sessions that can be revoked.

The signed cookie only carries a random token; its SHA-256 is stored in `user_session`, so
logging out, changing a password or deactivating an account ends sessions for real, and a
copied cookie stops working.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g

from mel_app.extensions import db
from mel_app.models import User, UserSession, utcnow

# Writing last_seen on every request would turn every page view into a write.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, remote_addr: str | None, user_agent: str | None) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        UserSession(
            user_id=user.id,
            token_hash=_hash(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + current_app.config["SESSION_ABSOLUTE_TIMEOUT"],
            remote_addr=(remote_addr or "")[:64] or None,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    user._session_key = token
    return token


def _session_and_user(token: str | None) -> tuple[UserSession, User] | None:
    """The stored session of this cookie's token, with its user, in one query."""
    if not token or len(token) > 100:
        return None
    row = db.session.execute(
        sa.select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _hash(token))
    ).first()
    return None if row is None else (row[0], row[1])


def load_user_from_session_key(token: str) -> User | None:
    found = _session_and_user(token)
    if found is None:
        return None
    user_session, user = found
    now = utcnow()
    idle_limit = current_app.config["SESSION_IDLE_TIMEOUT"]
    if (
        user_session.revoked_at is not None
        or user_session.expires_at <= now
        or user_session.last_seen_at + idle_limit <= now
        or not user.is_active
    ):
        return None
    if now - user_session.last_seen_at >= LAST_SEEN_RESOLUTION:
        db.session.execute(
            sa.update(UserSession).where(UserSession.id == user_session.id).values(last_seen_at=now)
        )
        db.session.commit()
    user._session_key = token
    g.user_session_id = user_session.id
    return user


def revoke_session(token: str) -> None:
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.token_hash == _hash(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_all_sessions(user_id: int, *, except_token: str | None = None) -> int:
    stmt = sa.update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if except_token:
        stmt = stmt.where(UserSession.token_hash != _hash(except_token))
    return db.session.execute(stmt.values(revoked_at=utcnow())).rowcount


def end_user_sessions(user: User, *, keep_token: str | None = None) -> int:
    """Sign the user out everywhere (but in the session of `keep_token`). Flushes.

    The user's `session_token` changes too, so anything keyed on it stops matching as well.
    Returns the number of sessions ended.
    """
    user.session_token = secrets.token_hex(16)
    db.session.flush()
    return revoke_all_sessions(user.id, except_token=keep_token)


def active_sessions(user_id: int) -> list[UserSession]:
    """The user's sessions that still work, most recently used first."""
    now = utcnow()
    idle_limit = current_app.config["SESSION_IDLE_TIMEOUT"]
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
                UserSession.last_seen_at > now - idle_limit,
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def is_current(user_session: UserSession) -> bool:
    return g.get("user_session_id") == user_session.id


def expired_session_user(token: str | None) -> User | None:
    """The user whose session (of this browser's cookie) has timed out, or None.

    Only for keeping what they were sending when it timed out, never to act for them: a session
    that was ended on purpose (signing out, a new password) or a deactivated account gives None.
    """
    found = _session_and_user(token)
    if found is None:
        return None
    user_session, user = found
    if user_session.revoked_at is not None or not user.is_active:
        return None
    return user
