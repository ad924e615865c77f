"""Delivery that loses nothing and sends nothing twice, with a real worker process (Huey) and a
real SMTP server: the mail server down for a while; the worker killed mid-batch and restarted;
two workers draining one outbox on PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid

import pytest
import sqlalchemy as sa

from mel_app.extensions import db
from mel_app.models import OutboxMessage, OutboxStatus
from mel_app.notifications.compose import message_id
from mel_app.notifications.worker import get_queue
from tests.conftest import is_postgres
from tests.notify_worker import (
    all_sent,
    free_port,
    queue_messages,
    start,
    start_sink,
    statuses,
    stop,
    wait_until,
    worker_env,
)


def _message_ids(app, keys):
    with app.app_context():
        return {message_id(key) for key in keys}


def test_mail_server_down_for_a_while_then_every_message_delivered_once(app, tmp_path):
    port = free_port()
    keys = queue_messages(app, 30)
    worker = start(
        ["notifications-worker", "--workers", "2"], worker_env(app, tmp_path, port), tmp_path / "w.log"
    )
    controller = None
    try:
        # Nobody listens on the port: every attempt fails and is retried later, nothing is lost.
        wait_until(lambda: _attempted(app) >= 30, 30, what="the worker to try while the server is down")
        time.sleep(1.5)
        assert statuses(app).get(OutboxStatus.sent, 0) == 0
        with app.app_context():
            errors = set(db.session.scalars(sa.select(OutboxMessage.last_error)))
            db.session.remove()
        assert all(e and "unreachable" in e for e in errors), errors
        controller, sink = start_sink(port)
        wait_until(lambda: all_sent(app, 30), 60, what="every message once the server is back")
        time.sleep(1)  # nothing more arrives afterwards
        assert set(sink.counts()) == _message_ids(app, keys)
        assert max(sink.counts().values()) == 1, "no message twice"
    finally:
        stop(worker)
        if controller:
            controller.stop()
    assert worker.returncode is not None


def _attempted(app) -> int:
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.attempts > 0))
        db.session.remove()
    return n


def test_worker_killed_mid_batch_and_restarted_delivers_every_message(app, tmp_path):
    port = free_port()
    controller, sink = start_sink(port, delay=0.02)
    keys = queue_messages(app, 150)
    env = worker_env(app, tmp_path, port)
    first = start(["notifications-worker", "--workers", "1"], env, tmp_path / "w1.log")
    try:
        wait_until(lambda: len(sink.received) >= 30, 60, interval=0.01, what="the first deliveries")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        delivered_before = len(sink.received)
        assert delivered_before < 150, "killed mid-batch"
        with app.app_context():
            in_flight = db.session.scalar(
                sa.select(sa.func.count()).where(OutboxMessage.status == OutboxStatus.sending)
            )
            db.session.remove()
        assert in_flight, "the killed worker left claimed messages behind"
        second = start(["notifications-worker", "--workers", "1"], env, tmp_path / "w2.log")
        try:
            wait_until(lambda: all_sent(app, 150), 90, what="every message after the restart")
            time.sleep(1)
        finally:
            stop(second)
    finally:
        if first.poll() is None:
            first.kill()
        controller.stop()
    counts = sink.counts()
    assert set(counts) == _message_ids(app, keys), "every message delivered"
    # Each message is marked sent in its own transaction right after the server's 250; only the
    # one in flight when the worker was killed can arrive twice, under the same Message-ID.
    repeated = [mid for mid, n in counts.items() if n > 1]
    assert len(repeated) <= 1, repeated
    assert len(sink.received) <= 151


@pytest.mark.postgres_only
@pytest.mark.skipif(not is_postgres(), reason="FOR UPDATE SKIP LOCKED: PostgreSQL")
def test_two_workers_draining_one_outbox_on_postgresql_send_nothing_twice(app, tmp_path):
    port = free_port()
    controller, sink = start_sink(port, delay=0.005)
    keys = queue_messages(app, 400)
    env = worker_env(app, tmp_path, port, NOTIFY_BATCH_SIZE="10", NOTIFY_QUEUE="")
    workers = [start(["notifications-drain"], env, tmp_path / f"d{i}.log") for i in range(2)]
    try:
        for worker in workers:
            worker.wait(timeout=120)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        controller.stop()
    assert all(w.returncode == 0 for w in workers), [(tmp_path / f"d{i}.log").read_text() for i in range(2)]
    counts = sink.counts()
    assert set(counts) == _message_ids(app, keys)
    assert max(counts.values()) == 1 and len(sink.received) == 400, "no duplicates"
    with app.app_context():
        claimers = {
            claim.rsplit(":", 1)[0] for claim in db.session.scalars(sa.select(OutboxMessage.claimed_by))
        }
        db.session.remove()
    assert len(claimers) == 2, f"both workers took part: {claimers}"


def test_worker_command_refuses_without_a_queue(app, tmp_path):
    env = worker_env(app, tmp_path, free_port(), NOTIFY_QUEUE="")
    result = subprocess.run(
        [sys.executable, "-m", "flask", "notifications-worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "NOTIFY_QUEUE" in (result.stdout + result.stderr)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_commit_nudges_the_worker_which_delivers_at_once(app, tmp_path, kind):
    """The web process hands the worker a nudge after the commit: delivery takes a moment, not
    the minute of the periodic drain. On the demo's SQLite queue and on production's Redis one
    (Redis at 127.0.0.1:6379, a queue name of this test's own)."""
    port = free_port()
    controller, sink = start_sink(port)
    queue_name = f"mel-test-{uuid.uuid4().hex[:8]}"
    env = worker_env(app, tmp_path, port, NOTIFY_QUEUE=kind, NOTIFY_QUEUE_NAME=queue_name)
    worker = start(["notifications-worker", "--workers", "1"], env, tmp_path / "w.log")
    try:
        time.sleep(3)  # the worker is up and has found nothing to do
        app.config.update(
            NOTIFY_QUEUE=kind, NOTIFY_QUEUE_NAME=queue_name, NOTIFY_SQLITE_PATH=env["NOTIFY_SQLITE_PATH"]
        )
        keys = queue_messages(app, 1)  # commits: the session nudges the queue
        started = time.monotonic()
        wait_until(lambda: len(sink.received) == 1, 20, interval=0.05, what="the nudged delivery")
        assert time.monotonic() - started < 3
        assert set(sink.counts()) == _message_ids(app, keys)
    finally:
        stop(worker)
        controller.stop()
        if kind == "redis":
            get_queue(app.config).storage.flush_all()


def test_the_redis_queue_without_the_redis_package_stops_the_start_with_a_clear_message(monkeypatch):
    from config import TestingConfig
    from mel_app import create_app

    monkeypatch.setitem(sys.modules, "redis", None)  # as in an install without the redis extra
    with pytest.raises(SystemExit, match=r"NOTIFY_QUEUE=redis needs the redis package"):
        create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://", NOTIFY_QUEUE="redis")
