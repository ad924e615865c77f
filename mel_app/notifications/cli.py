"""`flask notifications-worker`, `notifications-drain` and `notifications-remind`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from mel_app import audit
from mel_app.extensions import db


@click.command("notifications-worker")
@click.option("--workers", default=2, show_default=True, help="Threads delivering in this process.")
@with_appcontext
def worker_command(workers: int) -> None:
    """Run the background worker: deliver the outbox, run the daily reminders (until stopped)."""
    from mel_app.notifications.worker import run_consumer

    run_consumer(current_app._get_current_object(), workers=workers)


@click.command("notifications-drain")
@click.option("--batch-size", type=int, default=None)
@with_appcontext
def drain_command(batch_size: int | None) -> None:
    """Deliver every message due now, once, without a queue; print what happened."""
    import time

    from mel_app.notifications.delivery import drain

    started = time.perf_counter()
    result = drain(batch_size=batch_size)
    seconds = time.perf_counter() - started
    click.echo(f"sent {result.sent}, to retry {result.retried}, failed {result.failed} in {seconds:.2f} s")


@click.command("notifications-remind")
@click.option(
    "--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Run as if on this day."
)
@with_appcontext
def remind_command(today) -> None:
    """Queue today's reminders and digests now (the worker does it daily at NOTIFY_DAILY_HOUR)."""
    from mel_app.notifications.reminders import run_daily

    audit.set_actor(db.session(), audit.SYSTEM_ACTOR)
    counts = run_daily(today.date() if today else None)
    click.echo(", ".join(f"{name} {count}" for name, count in counts.items()))


COMMANDS = (worker_command, drain_command, remind_command)
