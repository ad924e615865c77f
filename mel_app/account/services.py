"""Changes a user makes to their own account. Flushes; the view commits."""

from __future__ import annotations

from mel_app import audit
from mel_app.auth.sessions import end_user_sessions
from mel_app.dates import valid_zone
from mel_app.extensions import db
from mel_app.models import User


def update_profile(
    user: User, *, full_name: str, preferred_language: str, time_zone: str | None = None
) -> None:
    user.full_name = full_name.strip()
    user.preferred_language = preferred_language
    # Empty: the configured default. The form has checked the name; an unknown one is not stored.
    user.time_zone = valid_zone(time_zone)
    audit.record(db.session, "user.profile_update", actor=user, target=user)


def adopt_browser_zone(user: User, browser_zone: str | None) -> None:
    """At sign-in: a user who never chose a time zone gets the one their browser reports.

    Sent by a small script on the sign-in pages; without it (or with a zone this server does not
    know) nothing changes and the configured default applies. A choice made on the account page
    is never overridden.
    """
    zone = valid_zone(browser_zone)
    if user.time_zone is None and zone is not None:
        user.time_zone = zone


def end_other_sessions(user: User, *, keep_token: str) -> int:
    ended = end_user_sessions(user, keep_token=keep_token)
    audit.record(db.session, "user.sessions_ended", actor=user, target=user, reason="by the user, elsewhere")
    return ended
