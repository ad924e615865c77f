"""Administrators' outgoing-mail page: queued, sent and failed messages, with the reason; resend.

The routes live on the admin blueprint, behind its deny-by-default guard (administrators only).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mel_app import audit
from mel_app.admin.blueprint import bp
from mel_app.extensions import db
from mel_app.integers import arg_int
from mel_app.kit.web import saving
from mel_app.models import OutboxMessage, OutboxStatus
from mel_app.notifications.delivery import resend
from mel_app.permissions import is_admin, require


def _status_filter() -> OutboxStatus | None:
    try:
        return OutboxStatus(request.args.get("status", ""))
    except ValueError:
        return None


@bp.get("/outbox")
def outbox():
    require(is_admin(current_user), visible=True)
    status = _status_filter()
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    page = db.paginate(query, page=arg_int("page", 1, minimum=1), per_page=50, error_out=False)
    counts = dict(
        db.session.execute(
            sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    return render_template(
        "admin/outbox.html", page=page, status=status, counts=counts, statuses=list(OutboxStatus)
    )


@bp.get("/outbox/<int:message_id>")
def outbox_message(message_id: int):
    require(is_admin(current_user), visible=True)
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    return render_template("admin/outbox_message.html", message=message)


@bp.post("/outbox/<int:message_id>/resend")
def outbox_resend(message_id: int):
    require(is_admin(current_user), visible=True)
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    if message.status is not OutboxStatus.failed:
        flash(_("Only a failed message can be sent again."), "error")
        return redirect(url_for("admin.outbox_message", message_id=message.id)), 303
    before = {"status": message.status.value, "last_error": message.last_error}
    resend(message)
    with saving(_("The message is queued to be sent again.")):
        audit.record(
            db.session,
            "outbox.resend",
            actor=current_user._get_current_object(),
            reason=f"message #{message.id} to {message.to_address}",
            before=before,
            after={"status": message.status.value},
        )
    return redirect(url_for("admin.outbox_message", message_id=message.id))
