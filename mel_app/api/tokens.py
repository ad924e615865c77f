"""Personal access tokens: created, listed and revoked by their owner; checked on every API request.

The secret is `mel_` followed by 32 random bytes (URL-safe base64), shown once and stored only as
its SHA-256 hash: the secret is random enough that a fast hash is enough, and a lookup by hash is
one indexed query. A token acts as its owner: every permission check of the API is the owner's,
and the token's scopes can only narrow them.

Audit: creation and revocation are events of their own. Use is recorded as `last_used_at`
(at most once a minute, so that reads do not write at every request) and as one
`api_token.used` event per token and per UTC day on which it is used: the trail shows every day a
token was used without an event per read request burying everything else. Every change made
through the API is recorded by the services it calls, with the owner as the actor, like the
same change made on the pages.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from mel_app import audit
from mel_app.auth import throttle
from mel_app.extensions import db
from mel_app.models import TOKEN_SCOPES, ApiToken, User, utcnow

PREFIX = "mel_"
EXPIRY_CHOICES_DAYS = (30, 90, 365)
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def create_token(user: User, *, name: str, scopes: list[str], days: int) -> NewToken:
    """Flushes; the view commits. The caller has checked `can_create_api_token`."""
    chosen = [s for s in TOKEN_SCOPES if s in set(scopes)]
    if not chosen:
        raise ValueError("a token needs at least one scope")
    if days not in EXPIRY_CHOICES_DAYS:
        raise ValueError("unknown expiry")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        user_id=user.id,
        name=name.strip(),
        scopes=" ".join(chosen),
        token_hash=hash_token(secret),
        hint=secret[: len(PREFIX) + 4],
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        db.session,
        "api_token.create",
        actor=user,
        after={
            "token_id": token.id,
            "name": token.name,
            "scopes": token.scopes,
            "expires_at": token.expires_at,
        },
    )
    return NewToken(token=token, secret=secret)


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens, newest first, revoked and expired ones included (the list says which)."""
    return list(
        db.session.scalars(
            sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def revoke_token(user: User, token_id: int) -> ApiToken | None:
    """Revoke one of the user's own tokens; None when it is not theirs or already revoked."""
    token = db.session.scalar(
        sa.select(ApiToken).where(
            ApiToken.id == token_id, ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
        )
    )
    if token is None:
        return None
    token.revoked_at = utcnow()
    audit.record(db.session, "api_token.revoke", actor=user, after={"token_id": token.id, "name": token.name})
    return token


def find_usable(raw: str) -> ApiToken | None:
    """The token of this secret when it is neither revoked nor expired and its owner is active."""
    if not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    if token is None or not token.is_usable(utcnow()) or not token.user.is_active:
        return None
    return token


def note_use(token: ApiToken) -> None:
    """Record a use (see the module's docstring). Flushes nothing itself; the caller commits."""
    now = utcnow()
    last = token.last_used_at
    if last is None or last.date() != now.date():
        audit.record(
            db.session,
            "api_token.use",
            actor=token.user,
            after={"token_id": token.id, "name": token.name, "day": now.date().isoformat()},
        )
    if last is None or now - last >= LAST_USED_PRECISION or last.date() != now.date():
        token.last_used_at = now


def rate_limited(token: ApiToken) -> throttle.Blocked | None:
    """Count this request against the token's allowance; the wait when it is spent.

    The counts are the sign-in throttle's (the database, or Redis when RATELIMIT_STORAGE_URI
    names it), so every worker sees them.
    """
    cfg = current_app.config
    limit = int(cfg.get("API_RATE_LIMIT", 120))
    window = timedelta(seconds=int(cfg.get("API_RATE_WINDOW_SECONDS", 60)))
    attempt = throttle.attempt([(throttle.key_for("api-token", str(token.id)), limit)], window=window)
    return attempt.blocked


def retry_after_seconds(blocked: throttle.Blocked) -> int:
    return max(1, int((blocked.retry_at - utcnow()).total_seconds() + 0.999))


def wait_if_rate_limited(token: ApiToken) -> int | None:
    """Count this request (`rate_limited`); the seconds to wait when the allowance is spent.

    A refused request commits the count itself: it is answered at once, and nothing else of the
    request commits.
    """
    blocked = rate_limited(token)
    if blocked is None:
        return None
    db.session.commit()
    return retry_after_seconds(blocked)


def record_use(token: ApiToken, remote_addr: str | None) -> None:
    """Start a request made with `token`: its owner becomes the audit actor, the use is recorded
    (`note_use`), and that is committed here.

    It commits because the request may be a read that commits nothing: the last use, the day's
    event and the request's count must be kept all the same, and a write that fails and rolls
    back must not take them with it.
    """
    audit.set_actor(db.session(), audit.actor_of(token.user, remote_addr))
    note_use(token)
    db.session.commit()
