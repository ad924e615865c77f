"""Administrators' outgoing-mail page: queued, sent and failed messages, with the reason; resend.

The routes live on the admin blueprint, behind its deny-by-default guard (administrators only).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mel_app.admin.blueprint import bp
from mel_app.kit.web import get_or_404, paginate, saving
from mel_app.models import OutboxMessage, OutboxStatus
from mel_app.notifications import delivery
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
    page = paginate(delivery.outbox_newest_first(status), per_page=50)
    counts = delivery.outbox_counts()
    return render_template(
        "admin/outbox.html", page=page, status=status, counts=counts, statuses=list(OutboxStatus)
    )


@bp.get("/outbox/<int:message_id>")
def outbox_message(message_id: int):
    require(is_admin(current_user), visible=True)
    message = get_or_404(OutboxMessage, message_id)
    return render_template("admin/outbox_message.html", message=message)


@bp.post("/outbox/<int:message_id>/resend")
def outbox_resend(message_id: int):
    require(is_admin(current_user), visible=True)
    message = get_or_404(OutboxMessage, message_id)
    if message.status is not OutboxStatus.failed:
        flash(_("Only a failed message can be sent again."), "error")
        return redirect(url_for("admin.outbox_message", message_id=message.id)), 303
    with saving(_("The message is queued to be sent again.")):
        delivery.resend(message, actor=current_user._get_current_object())
    return redirect(url_for("admin.outbox_message", message_id=message.id))
