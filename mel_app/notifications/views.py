"""The notifications page, each person's e-mail choices, and the one-click unsubscribe link."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mel_app.auth import public
from mel_app.extensions import csrf
from mel_app.kit.web import paginate, saving
from mel_app.models import DeliveryMode, NotificationKind, User
from mel_app.notifications import compose, inbox, preferences
from mel_app.permissions import can_edit_own_account, require
from mel_app.urls import safe_next

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def unread_count() -> int:
    """For the navigation: the signed-in user's unread notifications (one query a request)."""
    if not getattr(current_user, "is_authenticated", False):
        return 0
    if "_unread_notifications" not in g:
        g._unread_notifications = inbox.unread_count(current_user)
    return g._unread_notifications


@bp.get("")
def index():
    require(can_edit_own_account(current_user), visible=True)
    page = paginate(inbox.newest_first(current_user), per_page=25)
    return render_template("notifications/index.html", page=page)


@bp.get("/<int:notification_id>", endpoint="open")
def open_notification(notification_id: int):
    """Follow a notification: mark it read, then go to the thing it is about."""
    # Only its recipient: anyone else learns nothing, not even that it exists.
    note = inbox.own(current_user, notification_id)
    require(note is not None)
    if note.read_at is None:
        with saving():
            inbox.mark_read(note)
    return redirect(safe_next(note.link) or url_for("notifications.index"))


@bp.post("/read")
def mark_all_read():
    require(can_edit_own_account(current_user), visible=True)
    with saving(_("Every notification is marked as read.")):
        inbox.mark_all_read(current_user)
    return redirect(url_for("notifications.index"))


@bp.route("/preferences", methods=["GET", "POST"], endpoint="preferences")
def preferences_page():
    require(can_edit_own_account(current_user), visible=True)
    user = current_user._get_current_object()
    current = preferences.modes(user)
    errors: list[str] = []
    if request.method == "POST":
        chosen: dict[NotificationKind, DeliveryMode] = {}
        for kind in preferences.KIND_LABELS:
            value = request.form.get(kind.value, current[kind].value)
            try:
                chosen[kind] = DeliveryMode(value)
            except ValueError:
                errors.append(str(preferences.KIND_LABELS[kind]))
        if not errors:
            with saving():
                changed = [kind for kind, mode in chosen.items() if preferences.set_mode(user, kind, mode)]
            flash(_("Your choices are saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("notifications.preferences"))
        return _render_preferences(current, errors), 400
    return _render_preferences(current, errors)


def _render_preferences(modes, errors):
    return render_template(
        "notifications/preferences.html",
        modes=modes,
        errors=errors,
        labels=preferences.KIND_LABELS,
        mode_labels=preferences.MODE_LABELS,
    )


def _unsubscribe(token: str) -> tuple[User, str] | None:
    found = compose.read_unsubscribe_token(token)
    if found is None:
        return None
    user = inbox.active_user(found[0])
    return (user, found[1]) if user is not None else None


@bp.get("/unsubscribe/<token>")
@public
def unsubscribe(token: str):
    """The link in every e-mail: a page with one button (a GET changes nothing, so that mail
    scanners following links do not unsubscribe anyone)."""
    found = _unsubscribe(token)
    if found is None:
        abort(404)
    user, kind = found
    return render_template("notifications/unsubscribe.html", token=token, label=_label(kind), done=False)


@bp.post("/unsubscribe/<token>")
@public
@csrf.exempt  # checked below, except for the one-click POST of RFC 8058
def unsubscribe_confirm(token: str):
    # A mail client's one-click unsubscribe (List-Unsubscribe-Post) posts this field and no form
    # token: the signed token in the address is the proof then. Our own page's button sends its
    # CSRF token like every form.
    if request.form.get("List-Unsubscribe") != "One-Click":
        csrf.protect()
    found = _unsubscribe(token)
    if found is None:
        abort(404)
    user, kind = found
    with saving():
        preferences.unsubscribe(user, kind, remote_addr=request.remote_addr)
    return render_template("notifications/unsubscribe.html", token=token, label=_label(kind), done=True)


def _label(kind: str) -> str:
    if kind == compose.DIGEST:
        return _("Your daily digest")
    return str(preferences.KIND_LABELS[NotificationKind(kind)])
