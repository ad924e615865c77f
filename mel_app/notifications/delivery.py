"""Deliver the outbox over SMTP: claim a batch, send it, mark each message sent (DESIGN.md §9).

Several workers on several machines may drain the same outbox. A worker claims due rows in one
short transaction — on PostgreSQL `SELECT ... FOR UPDATE SKIP LOCKED`, so that workers never wait
for each other nor take the same rows, and everywhere a conditional UPDATE that re-checks the row
is still due — and stamps them with its claim and a lease. A worker killed mid-batch leaves rows
in `sending`; once their lease has run out any worker claims them again. Each message is marked
sent in its own transaction right after the server accepted it, so a kill can repeat at most the
one message in flight, and that one keeps its Message-ID (derived from its idempotency key),
which lets the receiving side recognise it.

While the mail server is down, messages wait with an exponential back-off (capped); a message
refused for good (5xx), or still failing after NOTIFY_MAX_ATTEMPTS, is marked failed with the
reason, for an administrator to see and resend.
"""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import sqlalchemy as sa
from flask import current_app

from mel_app import audit, mail
from mel_app.extensions import db
from mel_app.models import OutboxMessage, OutboxStatus, User, utcnow
from mel_app.notifications.compose import message_id


@dataclass
class DrainResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    # When the next message waiting in the outbox is due (a retry or a lapsed claim), if any.
    next_due: datetime | None = None


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:60]


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(OutboxMessage.status == OutboxStatus.queued, OutboxMessage.next_attempt_at <= now),
        sa.and_(OutboxMessage.status == OutboxStatus.sending, OutboxMessage.claimed_until < now),
    )


def claim(worker: str, limit: int) -> list[OutboxMessage] | None:
    """Take up to `limit` due messages for this worker, committed before anything is sent.

    None when nothing is due; an empty list when another worker took them first. The rows come
    back detached, so that committing each outcome does not reload them."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["NOTIFY_LEASE_SECONDS"])
    ids = list(
        db.session.scalars(
            sa.select(OutboxMessage.id)
            .where(_due(now))
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        db.session.rollback()
        return None
    token = f"{worker}:{uuid.uuid4().hex[:12]}"
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), _due(now))
        .values(
            status=OutboxStatus.sending,
            claimed_by=token,
            claimed_until=now + lease,
            attempts=OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    rows = list(
        db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.claimed_by == token).order_by(OutboxMessage.id)
        )
    )
    for row in rows:
        db.session.expunge(row)
    db.session.rollback()
    return rows


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def build_email(message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.to_address
    email["Subject"] = message.subject
    # Both derived from the row, the same on every attempt: a message sent again after a crash
    # is the same message to the receiving side (RFC 5322: the Date is when it was ready to send).
    email["Date"] = format_datetime(_as_utc(message.created_at), usegmt=True)
    email["Message-ID"] = message_id(message.idempotency_key)
    email["Auto-Submitted"] = "auto-generated"
    for name, value in (message.headers or {}).items():
        email[name] = value
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    # After the parts are made: making them moves every Content-* header into the first part.
    email["Content-Language"] = message.language
    return email


class _Marks:
    """Records outcomes on one connection held for the batch, each in its own transaction (no
    session bookkeeping, no pool check-out and ping per message)."""

    def __init__(self) -> None:
        self.conn = db.engine.connect()

    def close(self) -> None:
        self.conn.close()

    def finish(self, message: OutboxMessage, **values) -> None:
        """Record the outcome, only while the claim is still ours."""
        self.conn.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.claimed_by == message.claimed_by)
            .values(claimed_until=None, **values)
        )
        self.conn.commit()


def _backoff(attempts: int) -> timedelta:
    cfg = current_app.config
    seconds = min(
        cfg["NOTIFY_BACKOFF_SECONDS"] * 2 ** max(attempts - 1, 0), cfg["NOTIFY_BACKOFF_MAX_SECONDS"]
    )
    return timedelta(seconds=seconds)


def _retry_or_fail(
    marks: _Marks, message: OutboxMessage, error: str, result: DrainResult, *, permanent: bool
) -> None:
    if permanent or message.attempts >= current_app.config["NOTIFY_MAX_ATTEMPTS"]:
        marks.finish(message, status=OutboxStatus.failed, last_error=error[:2000])
        result.failed += 1
        current_app.logger.error("outgoing mail %s to %s failed: %s", message.id, message.to_address, error)
        return
    marks.finish(
        message,
        status=OutboxStatus.queued,
        last_error=error[:2000],
        next_attempt_at=utcnow() + _backoff(message.attempts),
    )
    result.retried += 1


def _permanent(exc: smtplib.SMTPException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and code >= 500


def _send_batch(batch: list[OutboxMessage], result: DrainResult) -> None:
    marks = _Marks()
    try:
        _send_with(marks, batch, result)
    finally:
        marks.close()


def _send_with(marks: _Marks, batch: list[OutboxMessage], result: DrainResult) -> None:
    if not current_app.config["MAIL_SERVER"]:
        # No mail server (the demo): the message goes to the log, and stays readable on the
        # administrators' outgoing-mail page.
        for message in batch:
            current_app.logger.warning(
                "MAIL_SERVER is not set: this message was not sent, here it is instead.\n%s",
                build_email(message).as_string(),
            )
            marks.finish(message, status=OutboxStatus.sent, sent_at=utcnow(), last_error=None)
            result.sent += 1
        return
    try:
        smtp = mail.connect()
    except (OSError, smtplib.SMTPException) as exc:
        for message in batch:
            _retry_or_fail(marks, message, f"mail server unreachable: {exc}", result, permanent=False)
        return
    with smtp:
        for index, message in enumerate(batch):
            try:
                smtp.send_message(build_email(message))
            except smtplib.SMTPServerDisconnected as exc:
                for rest in batch[index:]:
                    _retry_or_fail(marks, rest, f"connection lost: {exc}", result, permanent=False)
                return
            except smtplib.SMTPException as exc:
                _retry_or_fail(marks, message, str(exc), result, permanent=_permanent(exc))
                continue
            except OSError as exc:
                for rest in batch[index:]:
                    _retry_or_fail(marks, rest, f"connection lost: {exc}", result, permanent=False)
                return
            _fault_after_accept(result)
            marks.finish(message, status=OutboxStatus.sent, sent_at=utcnow(), last_error=None)
            result.sent += 1


def _fault_after_accept(result: DrainResult) -> None:
    """The delivery tests' crash between the server's 250 and the commit (config.TestingConfig,
    NOTIFY_FAULT_KILL_AFTER_ACCEPT); absent from every other configuration, so a no-op there."""
    nth = current_app.config.get("NOTIFY_FAULT_KILL_AFTER_ACCEPT")
    if nth and current_app.testing and result.sent + 1 >= nth:
        os.kill(os.getpid(), signal.SIGKILL)


def next_due() -> datetime | None:
    queued = db.session.scalar(
        sa.select(sa.func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == OutboxStatus.queued
        )
    )
    leased = db.session.scalar(
        sa.select(sa.func.min(OutboxMessage.claimed_until)).where(
            OutboxMessage.status == OutboxStatus.sending
        )
    )
    db.session.rollback()
    times = [t for t in (queued, leased) if t is not None]
    return min(times) if times else None


def drain(
    *, worker: str | None = None, batch_size: int | None = None, max_batches: int | None = None
) -> DrainResult:
    """Send everything due now, batch by batch; returns what happened and when to look again."""
    worker = worker or worker_name()
    batch_size = batch_size or current_app.config["NOTIFY_BATCH_SIZE"]
    result = DrainResult()
    batches = 0
    while max_batches is None or batches < max_batches:
        batch = claim(worker, batch_size)
        if batch is None:
            break
        batches += 1
        if batch:
            _send_batch(batch, result)
    result.next_due = next_due()
    return result


def outbox_newest_first(status: OutboxStatus | None) -> sa.Select[tuple[OutboxMessage]]:
    """The outgoing-mail page's list, of one status or all."""
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())
    return query if status is None else query.where(OutboxMessage.status == status)


def outbox_counts() -> dict[OutboxStatus, int]:
    rows = db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
    ).all()
    return {status: count for status, count in rows}


def resend(message: OutboxMessage, *, actor: User) -> None:
    """Queue a failed message again (an administrator's action, audited; the caller commits)."""
    before = {"status": message.status.value, "last_error": message.last_error}
    _requeue(message)
    audit.record(
        db.session,
        "outbox.resend",
        actor=actor,
        reason=f"message #{message.id} to {message.to_address}",
        before=before,
        after={"status": message.status.value},
    )


def _requeue(message: OutboxMessage) -> None:
    message.status = OutboxStatus.queued
    message.next_attempt_at = utcnow()
    message.attempts = 0
    message.claimed_by = None
    message.claimed_until = None
