"""Changes a user makes to their own account. Flushes; the view commits."""

from __future__ import annotations

from mel_app import audit
from mel_app.auth.sessions import end_user_sessions
from mel_app.extensions import db
from mel_app.models import User


def update_profile(user: User, *, full_name: str, preferred_language: str) -> None:
    user.full_name = full_name.strip()
    user.preferred_language = preferred_language
    audit.record(db.session, "user.profile_update", actor=user, target=user)


def end_other_sessions(user: User, *, keep_token: str) -> int:
    ended = end_user_sessions(user, keep_token=keep_token)
    audit.record(db.session, "user.sessions_ended", actor=user, target=user, reason="by the user, elsewhere")
    return ended
