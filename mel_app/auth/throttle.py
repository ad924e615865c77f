"""Counting failed attempts (sign-in, password checks, second-factor codes, password-reset
requests) in storage shared by all workers.

A sliding window: a key is blocked while it has `limit` failures in the last `window`; it opens
again when the oldest of them leaves the window. An attempt is counted before it is checked and
uncounted when it succeeds, so that simultaneous attempts cannot all slip under the limit. The
counts live in the database (table `login_attempt`), or in Redis when RATELIMIT_STORAGE_URI is
set — never in one process's memory, which every other worker would ignore.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
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


def _own_engine() -> sa.Engine:
    """An engine with a small pool of its own, for writes that cannot wait for the request.

    Not the app's pool: a request already holds one of its connections, and twenty requests each
    waiting there for a second one would wait for each other until the pool's timeout. A pool of
    its own cannot deadlock that way: each use takes one connection for a statement or two and
    gives it back before the next. It is a pool, not a new connection each time, because the
    API's rate limit counts every API request here (two uses a request): opening a PostgreSQL
    connection for each use cost more than most API reads themselves. One connection stays open
    per process and database (apps of one process on the same database share it, as tests make
    many); more are opened for requests running at the same moment and closed after.
    """
    url = db.engine.url
    key = url.render_as_string(hide_password=False)
    engine = _engines.get(key)
    if engine is None:
        engine = _engines[key] = sa.create_engine(url, pool_size=1, max_overflow=20, pool_pre_ping=True)
    return engine


_engines: dict[str, sa.Engine] = {}


def dispose_engines(url: str) -> None:
    """Close the connections kept for the database at `url`, which is about to be removed or
    replaced by another file at the same place (the test suite does that between tests): a kept
    connection would go on reading the old one."""
    engine = _engines.pop(sa.engine.make_url(url).render_as_string(hide_password=False), None)
    if engine is not None:
        engine.dispose()


class _DatabaseStore:
    """Attempts as rows of `login_attempt`.

    On PostgreSQL an attempt is written and committed at once on a connection of its own, so that
    every worker sees it before this request looks at the password. On SQLite it is written in the
    request's transaction: the write takes the database's one write lock, which makes concurrent
    attempts wait for this request to commit, so each still sees the ones before it.
    """

    def _run(self, work):
        if db.session.get_bind().dialect.name == "sqlite":
            return work(db.session)
        with _own_engine().connect() as conn:
            return work(conn.execution_options(isolation_level="AUTOCOMMIT"))

    def add(self, key: str, now: datetime, window: timedelta) -> object:
        # Rows older than every window are useless: drop them on the way (indexed on attempted_at).
        cfg = current_app.config
        longest = max(window, cfg["LOGIN_FAILURE_WINDOW"], cfg["PASSWORD_RESET_WINDOW"])

        def work(conn):
            conn.execute(sa.delete(LoginAttempt).where(LoginAttempt.attempted_at <= now - longest))
            return conn.execute(
                sa.insert(LoginAttempt).values(key=key, attempted_at=now).returning(LoginAttempt.id)
            ).scalar_one()

        return self._run(work)

    def others(self, key: str, since: datetime, mine: object) -> list[datetime]:
        return self._run(
            lambda conn: list(
                conn.execute(
                    sa.select(LoginAttempt.attempted_at)
                    .where(LoginAttempt.key == key, LoginAttempt.attempted_at > since)
                    .where(LoginAttempt.id != mine)
                    .order_by(LoginAttempt.attempted_at)
                ).scalars()
            )
        )

    def remove(self, key: str, mine: object) -> None:
        self._run(lambda conn: conn.execute(sa.delete(LoginAttempt).where(LoginAttempt.id == mine)))

    def clear(self, key: str) -> None:
        db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.key == key))


class _RedisStore:
    def __init__(self, url: str, prefix: str):
        import redis

        self.client = _redis_clients.get(url)
        if self.client is None:
            self.client = _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=2)
        self.prefix = prefix + "attempts:"

    def add(self, key: str, now: datetime, window: timedelta) -> object:
        name = self.prefix + key
        stamp = now.timestamp()
        member = f"{stamp}:{secrets.token_hex(8)}"
        pipe = self.client.pipeline()
        pipe.zremrangebyscore(name, "-inf", stamp - window.total_seconds())
        pipe.zadd(name, {member: stamp})
        pipe.expire(name, math.ceil(window.total_seconds()) + 60)
        pipe.execute()
        return member

    def others(self, key: str, since: datetime, mine: object) -> list[datetime]:
        scores = self.client.zrangebyscore(
            self.prefix + key, f"({since.timestamp()}", "+inf", withscores=True
        )
        return [datetime.fromtimestamp(score, UTC) for member, score in scores if member.decode() != mine]

    def remove(self, key: str, mine: object) -> None:
        self.client.zrem(self.prefix + key, mine)

    def clear(self, key: str) -> None:
        self.client.delete(self.prefix + key)


_redis_clients: dict[str, object] = {}
Store = _DatabaseStore | _RedisStore


def uses_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://", "unix://"))


def _stores() -> list[Store]:
    """The configured store, then the database as the fallback when Redis cannot be reached."""
    url = current_app.config.get("RATELIMIT_STORAGE_URI") or ""
    if uses_redis(url):
        return [_RedisStore(url, current_app.config["RATELIMIT_KEY_PREFIX"]), _DatabaseStore()]
    return [_DatabaseStore()]


def _with_fallback(work):
    stores = _stores()
    if len(stores) == 1:  # the database only: redis is an optional extra, maybe not installed
        return work(stores[0])
    import redis

    for store in stores[:-1]:
        try:
            return work(store)
        except redis.RedisError as exc:
            current_app.logger.error("rate-limit storage unavailable, using the database: %s", exc)
    return work(stores[-1])


@dataclass
class Attempt:
    """One attempt, counted on each of its keys before anything secret was looked at.

    `blocked` says until when when one of the keys was already at its limit: the attempt was
    then not counted (hammering a blocked account does not push its wait further). Otherwise it
    stays counted as a failure unless the caller says it `succeeded`.
    """

    blocked: Blocked | None
    store: Store
    counted: list[tuple[str, object]] = field(default_factory=list)

    def succeeded(self) -> None:
        """A right password or code: this attempt was no failure."""
        _forget(self.store, self.counted)
        self.counted = []


def _forget(store: Store, counted: list[tuple[str, object]]) -> None:
    if isinstance(store, _DatabaseStore):
        for key, mine in counted:
            store.remove(key, mine)
        return
    import redis

    for key, mine in counted:
        try:
            store.remove(key, mine)
        except redis.RedisError as exc:  # expires with its window anyway
            current_app.logger.error("rate-limit storage unavailable: %s", exc)


def attempt(keys: Sequence[tuple[str, int]], *, window: timedelta) -> Attempt:
    """Count one attempt on every (key, limit) first, then see whether any key was at its limit.

    Counting before looking is what makes the limit hold when attempts arrive together: each one
    is visible to the others before any of them looks at a password, so of N simultaneous
    attempts at most `limit` are let through, where checking first and counting afterwards let
    every attempt that checked before the others counted go ahead.
    """

    def work(store: Store) -> Attempt:
        now = utcnow()
        counted = [(key, store.add(key, now, window)) for key, _limit in keys]
        blocks = []
        for (key, limit), (_key, mine) in zip(keys, counted, strict=True):
            others = store.others(key, now - window, mine)
            if len(others) >= limit:
                # The key opens again when enough of its failures have left the window.
                blocks.append(Blocked(retry_at=others[len(others) - limit] + window))
        if blocks:
            _forget(store, counted)
            return Attempt(blocked=max(blocks, key=lambda b: b.retry_at), store=store)
        return Attempt(blocked=None, store=store, counted=counted)

    return _with_fallback(work)


def clear(key: str) -> None:
    """Forget every failure of `key` (after a right password, or a new one)."""
    _with_fallback(lambda store: store.clear(key))
