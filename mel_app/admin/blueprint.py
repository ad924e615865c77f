"""The administrators' blueprint: every page under /admin, denied by default to anyone else.

Its pages live in several modules (accounts and organisations in `views`, criteria sets and
scales in `criteria_views`, the outgoing mail in `mel_app.notifications.admin_views`); each
registers on this blueprint, and so falls under its guard. The app factory imports them all.
"""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from mel_app.permissions import is_admin, require

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def administrators_only() -> None:
    # Deny by default for every page of this blueprint; each view checks its own rule too.
    require(is_admin(current_user), visible=True)
