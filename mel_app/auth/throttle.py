"""Counting failed attempts (sign-in, password-reset requests) in storage shared by all workers.

A sliding window: a key is blocked while it has `limit` failures in the last `window`; it opens
again when the oldest of them leaves the window. The counts live in the database (table
`login_attempt`), or in Redis when RATELIMIT_STORAGE_URI is set — never in one process's memory,
which every other worker would ignore.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from mel_app.extensions import db
from mel_app.models import LoginAttempt, utcnow


@dataclass(frozen=True)
class Blocked:
    retry_at: datetime

    @property
    def minutes(self) -> int:
        """Whole minutes to wait, at least one (what the user is told)."""
        return max(1, math.ceil((self.retry_at - utcnow()).total_seconds() / 60))


def key_for(kind: str, value: str) -> str:
    """A storage key that does not keep emails or addresses in clear."""
    digest = hashlib.sha256(f"{kind}:{value.strip().lower()}".encode()).hexdigest()[:40]
    return f"{kind}:{digest}"


class _DatabaseStore:
    def failures(self, key: str, since: datetime) -> list[datetime]:
        return list(
            db.session.scalars(
                sa.select(LoginAttempt.attempted_at)
                .where(LoginAttempt.key == key, LoginAttempt.attempted_at > since)
                .order_by(LoginAttempt.attempted_at)
            )
        )

    def add(self, key: str, now: datetime, window: timedelta) -> None:
        # Rows older than every window are useless: drop them on the way (indexed on attempted_at).
        cfg = current_app.config
        longest = max(window, cfg["LOGIN_FAILURE_WINDOW"], cfg["PASSWORD_RESET_WINDOW"])
        db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.attempted_at <= now - longest))
        db.session.add(LoginAttempt(key=key, attempted_at=now))

    def clear(self, key: str) -> None:
        db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.key == key))


class _RedisStore:
    def __init__(self, url: str, prefix: str):
        import redis

        self.client = _redis_clients.get(url)
        if self.client is None:
            self.client = _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=2)
        self.prefix = prefix + "attempts:"

    def failures(self, key: str, since: datetime) -> list[datetime]:
        scores = self.client.zrangebyscore(
            self.prefix + key, f"({since.timestamp()}", "+inf", withscores=True
        )
        return [datetime.fromtimestamp(score, UTC) for _member, score in scores]

    def add(self, key: str, now: datetime, window: timedelta) -> None:
        name = self.prefix + key
        stamp = now.timestamp()
        pipe = self.client.pipeline()
        pipe.zremrangebyscore(name, "-inf", stamp - window.total_seconds())
        pipe.zadd(name, {f"{stamp}:{secrets.token_hex(4)}": stamp})
        pipe.expire(name, math.ceil(window.total_seconds()) + 60)
        pipe.execute()

    def clear(self, key: str) -> None:
        self.client.delete(self.prefix + key)


_redis_clients: dict[str, object] = {}


def uses_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://", "unix://"))


def _stores() -> list[_DatabaseStore | _RedisStore]:
    """The configured store, then the database as the fallback when Redis cannot be reached."""
    url = current_app.config.get("RATELIMIT_STORAGE_URI") or ""
    if uses_redis(url):
        return [_RedisStore(url, current_app.config["RATELIMIT_KEY_PREFIX"]), _DatabaseStore()]
    return [_DatabaseStore()]


def _call(method: str, *args):
    stores = _stores()
    if len(stores) == 1:  # the database only: redis is an optional extra, maybe not installed
        return getattr(stores[0], method)(*args)
    import redis

    for store in stores[:-1]:
        try:
            return getattr(store, method)(*args)
        except redis.RedisError as exc:
            current_app.logger.error("rate-limit storage unavailable, using the database: %s", exc)
    return getattr(stores[-1], method)(*args)


def check(key: str, *, limit: int, window: timedelta) -> Blocked | None:
    """Blocked (and until when) if `key` has `limit` failures in the last `window`, else None."""
    now = utcnow()
    failures = _call("failures", key, now - window)
    if len(failures) < limit:
        return None
    # The key opens again when enough of its failures have left the window.
    return Blocked(retry_at=failures[len(failures) - limit] + window)


def record_failure(key: str, *, window: timedelta) -> None:
    """Count one failure. On the database it is part of the request's transaction."""
    _call("add", key, utcnow(), window)


def clear(key: str) -> None:
    _call("clear", key)
