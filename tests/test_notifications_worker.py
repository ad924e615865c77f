"""Delivery that loses nothing and sends nothing twice, with a real worker process (Huey) and a
real SMTP server: the mail server down for a while; the worker killed mid-batch and restarted;
two workers draining one outbox on PostgreSQL."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime

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


def _in_flight(app) -> int:
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.status == OutboxStatus.sending))
        db.session.remove()
    return n


def _assert_each_exactly_once_in_the_mailbox(app, sink, keys, *, crashes: int) -> None:
    expected = _message_ids(app, keys)
    counts = sink.counts()
    assert set(sink.mailbox) == expected, "every message is in the mailbox, and nothing else"
    assert set(counts) == expected, "every delivery carried the Message-ID of an outbox message"
    # Each message is marked sent in its own transaction right after the server's 250: a crash
    # can repeat only the message in flight, and its repeat is the same message (same
    # Message-ID), which the mailbox keeps once. The same message may be in flight at two crashes
    # (taken up again after the first, killed again before it is marked): at most one repeat per
    # crash in all.
    repeats = {mid: n - 1 for mid, n in counts.items() if n > 1}
    assert sum(repeats.values()) <= crashes, repeats
    for mid, kept in sink.mailbox.items():
        assert kept["Message-ID"] == mid


def test_worker_killed_mid_batch_at_random_and_restarted_delivers_each_message_exactly_once(app, tmp_path):
    """Three SIGKILLs at random points of the delivery, a restart after each: the mailbox ends
    with every outbox message exactly once."""
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    port = free_port()
    controller, sink = start_sink(port, delay=0.02)
    keys = queue_messages(app, 150)
    env = worker_env(app, tmp_path, port)
    crashes = 0
    left_claimed: list[int] = []  # messages a killed worker left claimed, after each kill
    worker = None
    try:
        for round_ in range(3):
            worker = start(["notifications-worker", "--workers", "1"], env, tmp_path / f"w{round_}.log")
            target = len(sink.received) + rng.randint(5, 35)
            wait_until(lambda t=target: len(sink.received) >= t, 90, interval=0.005, what="more deliveries")
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            crashes += 1
            assert len(sink.mailbox) < 150, f"killed mid-delivery (seed {seed})"
            left_claimed.append(_in_flight(app))
        # (A kill may fall between two batches, with nothing claimed: not three times in a row.)
        assert any(left_claimed), f"the killed workers left claimed messages behind (seed {seed})"
        worker = start(["notifications-worker", "--workers", "1"], env, tmp_path / "last.log")
        wait_until(lambda: all_sent(app, 150), 120, what=f"every message after the restarts (seed {seed})")
        time.sleep(1)  # nothing more arrives afterwards
        stop(worker)
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        controller.stop()
    assert statuses(app) == {OutboxStatus.sent: 150}
    _assert_each_exactly_once_in_the_mailbox(app, sink, keys, crashes=crashes)


def test_worker_killed_after_the_servers_accept_before_marking_sent_resends_the_same_message(app, tmp_path):
    """The one window where a crash repeats a message: the server has accepted it, the worker dies
    before recording so (NOTIFY_FAULT_KILL_AFTER_ACCEPT, a setting of the test configuration
    only). The restarted worker sends it again under the same Message-ID: the mailbox keeps it once."""
    port = free_port()
    controller, sink = start_sink(port)
    keys = queue_messages(app, 12)
    env = worker_env(app, tmp_path, port)
    try:
        crashing = start(
            ["notifications-drain"], {**env, "NOTIFY_FAULT_KILL_AFTER_ACCEPT": "5"}, tmp_path / "crash.log"
        )
        crashing.wait(timeout=60)
        assert crashing.returncode == -signal.SIGKILL, (tmp_path / "crash.log").read_text()
        assert len(sink.received) == 5
        accepted_not_marked = sink.received[-1][0]
        with app.app_context():
            left = db.session.execute(
                sa.select(OutboxMessage.idempotency_key, OutboxMessage.status).order_by(OutboxMessage.id)
            ).all()
            db.session.remove()
        assert [status for _key, status in left[:4]] == [OutboxStatus.sent] * 4
        assert all(status is OutboxStatus.sending for _key, status in left[4:])
        assert _message_ids(app, [left[4][0]]) == {accepted_not_marked}
        worker = start(["notifications-worker", "--workers", "1"], env, tmp_path / "w.log")
        try:
            wait_until(lambda: all_sent(app, 12), 60, what="every message after the lease ran out")
            time.sleep(1)
        finally:
            stop(worker)
    finally:
        controller.stop()
    counts = sink.counts()
    assert counts[accepted_not_marked] == 2, "sent again after the crash..."
    assert len(sink.received) == 13
    first, again = (m for m in sink.raw if m["Message-ID"] == accepted_not_marked)
    for header in ("Message-ID", "Date", "To", "Subject"):
        assert first[header] == again[header], f"the same message: its {header} too"
    assert first.get_body(("plain",)).get_content() == again.get_body(("plain",)).get_content()
    _assert_each_exactly_once_in_the_mailbox(app, sink, keys, crashes=1)
    assert sink.mailbox[accepted_not_marked]["Subject"] == "Hello " + keys[4].split(":")[1]


@pytest.mark.postgres_only
@pytest.mark.skipif(not is_postgres(), reason="FOR UPDATE SKIP LOCKED: PostgreSQL")
def test_two_workers_draining_one_outbox_on_postgresql_send_nothing_twice(app, tmp_path):
    port = free_port()
    controller, sink = start_sink(port, delay=0.005)
    keys = queue_messages(app, 400)
    # No worker dies here: the short lease the crash tests need would let a worker that a busy
    # machine slows down lose its batch to the other one while it is still sending it.
    env = worker_env(app, tmp_path, port, NOTIFY_BATCH_SIZE="10", NOTIFY_QUEUE="", NOTIFY_LEASE_SECONDS="300")
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


@pytest.mark.postgres_only
@pytest.mark.skipif(not is_postgres(), reason="FOR UPDATE SKIP LOCKED: PostgreSQL")
def test_two_huey_consumers_on_redis_drain_one_outbox_on_postgresql_each_message_exactly_once(app, tmp_path):
    """Production's set-up: two `flask notifications-worker` processes (Huey consumers, two
    threads each) on one Redis queue (127.0.0.1:6379, a queue name of this test's own), the
    outbox on PostgreSQL. Every message reaches the mailbox once; none is lost or sent twice."""
    port = free_port()
    controller, sink = start_sink(port, delay=0.005)
    queue_name = f"mel-test-{uuid.uuid4().hex[:8]}"
    env = worker_env(  # a lease no batch outlives: no consumer dies here (see the test above)
        app,
        tmp_path,
        port,
        NOTIFY_QUEUE="redis",
        NOTIFY_QUEUE_NAME=queue_name,
        NOTIFY_BATCH_SIZE="10",
        NOTIFY_LEASE_SECONDS="300",
    )
    config = {**app.config, "NOTIFY_QUEUE": "redis", "NOTIFY_QUEUE_NAME": queue_name}
    huey = get_queue(config)
    logs = [tmp_path / f"c{i}.log" for i in range(2)]
    consumers = [start(["notifications-worker", "--workers", "2"], env, log) for log in logs]
    try:
        time.sleep(3)  # both consumers are up and have found nothing to do
        keys = queue_messages(app, 300)
        for _ in range(8):  # nudges, as the web processes send after their commits
            huey.mel_deliver()
        wait_until(lambda: all_sent(app, 300), 120, what="every message, drained by both consumers")
        time.sleep(1.5)  # nothing more arrives afterwards
        assert all(c.poll() is None for c in consumers), [log.read_text() for log in logs]
    finally:
        for consumer in consumers:
            stop(consumer)
        controller.stop()
        huey.storage.flush_all()
    counts = sink.counts()
    assert set(sink.mailbox) == _message_ids(app, keys), "none lost"
    assert max(counts.values()) == 1 and len(sink.received) == 300, "none sent twice"
    with app.app_context():
        claimers = {
            claim.rsplit(":", 1)[0] for claim in db.session.scalars(sa.select(OutboxMessage.claimed_by))
        }
        db.session.remove()
    assert claimers == {f"{socket.gethostname()}:{c.pid}"[:60] for c in consumers}, "both took part"


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
        # The periodic drain runs at each minute's turn; the nudge must deliver before the next
        # one, so the message is queued early enough in a minute to leave a clear margin (a nudged
        # delivery takes a second or two: a worker idle for a few seconds polls its queue that often).
        if 60 - datetime.now().second < 8:
            time.sleep(61 - datetime.now().second)
        before_next_drain = 59 - datetime.now().second
        keys = queue_messages(app, 1)  # commits: the session nudges the queue
        wait_until(lambda: len(sink.received) == 1, before_next_drain, 0.05, what="the nudged delivery")
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
