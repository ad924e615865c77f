"""One-time links (invitations, password resets): random, stored only as a hash, expiring, single use."""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.kit.errors import DomainError
from mel_app.models import OneTimeToken, User, utcnow


class Purpose(enum.StrEnum):
    invitation = "invitation"
    password_reset = "password_reset"  # noqa: S105  # nosec B105 - a purpose, not a password


class TokenProblem(enum.StrEnum):
    unknown = "unknown"
    expired = "expired"
    used = "used"


class TokenError(DomainError):
    http_status = 404

    def __init__(self, problem: TokenProblem):
        super().__init__(problem.value)
        self.problem = problem


MAX_TOKEN_LENGTH = 100


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user: User, purpose: Purpose, *, lifetime: timedelta, created_by: User | None = None) -> str:
    """A new link token for `user`; earlier unused links of the same purpose stop working. Flushes."""
    now = utcnow()
    db.session.execute(
        sa.update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.purpose == purpose.value,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > now,
        )
        .values(expires_at=now)
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        OneTimeToken(
            purpose=purpose.value,
            token_hash=_hash(token),
            user_id=user.id,
            created_by_id=created_by.id if created_by is not None else None,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    db.session.flush()
    return token


def void_links(user: User) -> int:
    """End every unused link of `user` (invitations and resets): after a password is set or changed,
    a link mailed before must not set another one. Returns how many were ended. Flushes."""
    now = utcnow()
    return db.session.execute(
        sa.update(OneTimeToken)
        .where(OneTimeToken.user_id == user.id, OneTimeToken.used_at.is_(None), OneTimeToken.expires_at > now)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def peek(token: str, purpose: Purpose) -> OneTimeToken:
    """The valid token row (without using it up), or TokenError saying what is wrong."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise TokenError(TokenProblem.unknown)
    row = db.session.scalar(
        sa.select(OneTimeToken).where(
            OneTimeToken.token_hash == _hash(token), OneTimeToken.purpose == purpose.value
        )
    )
    if row is None:
        raise TokenError(TokenProblem.unknown)
    if row.used_at is not None:
        raise TokenError(TokenProblem.used)
    if row.expires_at <= utcnow():
        raise TokenError(TokenProblem.expired)
    return row


def consume(token: str, purpose: Purpose) -> User:
    """Use the token up and return its user. One conditional UPDATE: of two clicks, one wins."""
    row = peek(token, purpose)
    now = utcnow()
    won = db.session.execute(
        sa.update(OneTimeToken)
        .where(OneTimeToken.id == row.id, OneTimeToken.used_at.is_(None), OneTimeToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise TokenError(TokenProblem.used)
    db.session.expire(row)
    return row.user
