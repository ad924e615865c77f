"""The wait between a right password and the second factor.

Nobody is signed in during it: no server-side session exists yet. The browser's signed session
cookie only says which account gave its password, when, and a fingerprint of the account's
session token (which changes when the password changes or the account is deactivated), so the
code step works for that account, in that browser, for a few minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from flask import current_app, session

from mel_app.extensions import db
from mel_app.models import User
from mel_app.permissions import asks_second_factor

KEY = "second_step"


def _fingerprint(user: User) -> str:
    return hashlib.sha256(f"second-step:{user.session_token}".encode()).hexdigest()[:32]


def remember(user: User, next_url: str | None) -> None:
    session[KEY] = {"uid": user.id, "fp": _fingerprint(user), "at": int(time.time()), "next": next_url or ""}


def forget() -> None:
    session.pop(KEY, None)


def is_waiting() -> bool:
    return KEY in session


def waiting_user() -> tuple[User, str] | None:
    """The account waiting for its second factor in this browser, and where to go next; or None."""
    data = session.get(KEY)
    if not isinstance(data, dict):
        return None
    try:
        uid, fingerprint, at = int(data["uid"]), str(data["fp"]), int(data["at"])
    except (KeyError, TypeError, ValueError):
        return None
    if time.time() - at > current_app.config["TWO_FACTOR_PENDING"].total_seconds():
        return None
    user = db.session.get(User, uid)
    if (
        user is None
        or not user.is_active
        or not hmac.compare_digest(_fingerprint(user), fingerprint)
        or not asks_second_factor(user)
    ):
        return None
    return user, str(data.get("next") or "")
