"""A real worker process for the reliability tests, and an SMTP sink that can be slow or absent."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from mel_app.extensions import db
from mel_app.models import OutboxMessage, OutboxStatus, User
from mel_app.notifications.compose import Content, queue

ROOT = Path(__file__).resolve().parent.parent


class Sink:
    """A mailbox, as mail stores behave: it keeps one copy of a message per Message-ID, however
    often it arrives. It also records every raw delivery (in arrival order), to count repeats.
    Optionally slow."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.received: list = []  # every delivery: (Message-ID, To)
        self.raw: list[EmailMessage] = []  # every delivery, as it arrived
        self.mailbox: dict[str, EmailMessage] = {}  # Message-ID -> the first copy kept

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message_id = message["Message-ID"]
        self.received.append((message_id, envelope.rcpt_tos[0]))
        self.raw.append(message)
        if message_id is not None:
            self.mailbox.setdefault(str(message_id), message)
        return "250 Message accepted"

    def counts(self) -> Counter:
        """How many times each Message-ID arrived (raw deliveries, repeats included)."""
        return Counter(message_id for message_id, _to in self.received)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink(port: int, delay: float = 0.0) -> tuple[Controller, Sink]:
    sink = Sink(delay)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, sink


def queue_messages(app, count: int) -> list[str]:
    """`count` messages to `count` people, committed; returns their idempotency keys."""
    keys = []
    with app.app_context():
        users = [
            User(email=f"person{i}@example.org", full_name=f"Person {i}", session_token=f"tok{i}")
            for i in range(count)
        ]
        db.session.add_all(users)
        db.session.flush()
        for user in users:
            key = f"test:{user.id}"
            queue(
                user,
                "comment_shared",
                key,
                Content(subject=f"Hello {user.id}", paragraphs=["Hi."], link_path="/", action="Open"),
            )
            keys.append(key)
        db.session.commit()
        db.session.remove()
    return keys


def statuses(app) -> Counter:
    with app.app_context():
        rows = db.session.execute(
            sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
        ).all()
        db.session.remove()
    return Counter({status: n for status, n in rows})


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def all_sent(app, count: int) -> bool:
    return statuses(app).get(OutboxStatus.sent, 0) == count


def worker_env(app, tmp_path: Path, smtp_port: int, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "MEL_CONFIG": "testing",
        "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "FLASK_APP": "mel_app",
        "NOTIFY_QUEUE": "sqlite",
        "NOTIFY_SQLITE_PATH": str(tmp_path / "queue.sqlite"),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_TIMEOUT": "5",
        "NOTIFY_BACKOFF_SECONDS": "0.3",
        "NOTIFY_BACKOFF_MAX_SECONDS": "1",
        "NOTIFY_LEASE_SECONDS": "3",
        "NOTIFY_BATCH_SIZE": "20",
        "PYTHONPATH": str(ROOT),
    }
    env.update(extra)
    return env


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "flask", *command],
            env=env,
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
