"""Notifications and reminders: who is told what (events), by e-mail through a transactional
outbox delivered by a background worker (delivery, worker), and in the app (views).

DESIGN.md §9 explains the pieces. Every event is recorded by `events` in the transaction of the
change that causes it; nothing is sent from a web request.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

NUDGE_FLAG = "notify_outbox_added"


_installed = False


def init_app(app: Flask) -> None:
    import importlib.util

    from mel_app.notifications.views import unread_count

    if app.config.get("NOTIFY_QUEUE") == "redis" and importlib.util.find_spec("redis") is None:
        # Refuse to start rather than lose every nudge to the worker (the default in production).
        raise SystemExit(
            "NOTIFY_QUEUE=redis needs the redis package: install mel_app[redis] "
            "(or set NOTIFY_QUEUE=sqlite for a single machine)."
        )

    app.add_template_global(unread_count, name="unread_notifications")
    _install_listeners()


def _install_listeners() -> None:
    global _installed
    if _installed:  # once per process, however many apps (the tests build many)
        return
    _installed = True

    @event.listens_for(Session, "after_commit")
    def _nudge_worker(session: Session) -> None:
        # Tell the worker that messages are waiting, once they are committed (a nudge lost on the
        # way is harmless: the worker also drains the outbox every minute).
        if session.info.pop(NUDGE_FLAG, False):
            from mel_app.notifications.worker import nudge

            nudge()

    @event.listens_for(Session, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop(NUDGE_FLAG, None)


def mark_outbox_added(session: Any) -> None:
    session.info[NUDGE_FLAG] = True
