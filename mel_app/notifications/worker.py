"""The background worker: a Huey task queue that delivers the outbox and runs the daily reminders.

`NOTIFY_QUEUE` chooses the queue (DESIGN.md §9 says why Huey): `sqlite` (SqliteHuey, one file in
the instance folder: `make demo`), `redis` (RedisHuey: production, several workers on several
machines), `immediate` (tasks run in the calling process), or "" (no queue). The same function
builds the queue in the web process (which only enqueues a nudge after a commit that wrote to
the outbox) and in `flask notifications-worker` (which consumes).

The outbox is the source of truth, not the queue: a lost or repeated task costs nothing, since
draining claims rows in the database. Every minute the worker drains anyway, and after a drain
that left messages waiting (a retry, a lapsed claim) it schedules one more at the time they fall due.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from flask import Flask, current_app, has_app_context
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab

log = logging.getLogger(__name__)

_lock = threading.Lock()
_queues: dict[tuple, Huey] = {}
_app: Flask | None = None  # the app the consumer runs the tasks in
FOLLOW_UP_KEY = "mel-notify-follow-up"


def _settings(config) -> tuple:
    return (
        config["NOTIFY_QUEUE"],
        config["NOTIFY_QUEUE_NAME"],
        config["NOTIFY_SQLITE_PATH"],
        config["NOTIFY_REDIS_URL"],
        config["NOTIFY_DAILY_HOUR"],
    )


def get_queue(config=None) -> Huey | None:
    """The Huey instance for this configuration, with its tasks (built once per process)."""
    config = config if config is not None else current_app.config
    key = _settings(config)
    kind, name, sqlite_path, redis_url, daily_hour = key
    if not kind:
        return None
    with _lock:
        if key not in _queues:
            if kind == "sqlite":
                huey: Huey = SqliteHuey(name, filename=sqlite_path, utc=True)
            elif kind == "redis":
                huey = RedisHuey(name, url=redis_url, utc=True)
            elif kind == "immediate":
                huey = MemoryHuey(name, immediate=True, utc=True)
            else:
                raise ValueError(f"NOTIFY_QUEUE={kind!r} is not one of sqlite, redis, immediate")
            _register(huey, daily_hour)
            _queues[key] = huey
        return _queues[key]


def _in_app(func):
    """Run a task in an application context (the consumer's app, else a new one)."""

    def run(*args, **kwargs):
        if has_app_context():
            return func(*args, **kwargs)
        global _app
        if _app is None:
            from mel_app import create_app

            _app = create_app()
        with _app.app_context():
            return func(*args, **kwargs)

    run.__name__ = func.__name__
    return run


def _register(huey: Huey, daily_hour: int) -> None:
    @huey.task(name="notify.deliver")
    @_in_app
    def deliver() -> None:
        huey.get(FOLLOW_UP_KEY)  # a follow-up may be scheduled again after this run
        _drain_and_follow_up(huey)

    @huey.periodic_task(crontab(minute="*"), name="notify.deliver_every_minute")
    @_in_app
    def deliver_every_minute() -> None:
        _drain_and_follow_up(huey)

    # Every consumer's scheduler enqueues it: the lock lets one run at a time, and the next one
    # finds every reminder of the day recorded already and sends nothing.
    @huey.periodic_task(crontab(minute="0", hour=str(daily_hour)), name="notify.daily")
    @huey.lock_task("mel-notify-daily")
    @_in_app
    def daily() -> None:
        from mel_app.notifications import reminders

        reminders.run_daily()
        _drain_and_follow_up(huey)

    huey.mel_deliver = deliver


def _drain_and_follow_up(huey: Huey) -> None:
    from mel_app.extensions import db
    from mel_app.notifications.delivery import drain

    try:
        result = drain()
    finally:
        db.session.remove()
    if result.next_due is not None and not huey.immediate:
        delay = max((result.next_due - datetime.now(UTC)).total_seconds(), 0.0) + 0.05
        # One follow-up at a time, whatever number of workers ran this.
        if huey.put_if_empty(FOLLOW_UP_KEY, "1"):
            huey.mel_deliver.schedule(delay=delay)


def nudge() -> None:
    """Ask the worker to deliver now (after a commit that queued messages). Never raises: the
    outbox keeps the messages, and the worker drains it every minute anyway."""
    try:
        huey = get_queue()
        if huey is not None:
            huey.mel_deliver()
    except Exception:  # noqa: BLE001 - a queue that is down must not fail the user's request
        log.exception("could not nudge the notification worker; it will find the messages itself")


def run_consumer(app: Flask, *, workers: int = 2) -> None:
    """`flask notifications-worker`: consume the queue (and run its schedule) until stopped."""
    global _app
    _app = app
    huey = get_queue(app.config)
    if huey is None or huey.immediate:
        raise SystemExit("NOTIFY_QUEUE must be sqlite or redis to run a worker.")
    huey.mel_deliver()  # catch up on whatever waited while no worker ran
    consumer = huey.create_consumer(
        workers=workers, periodic=True, worker_type="thread", scheduler_interval=1
    )
    consumer.run()
