"""A save or comment that arrives after the session expired: kept, then given back after sign-in.

The post is only stored (never acted on), bound to the user of the expired session and to the
submission, for a short while (DRAFT_STASH_HOURS). The sign-in page's `next` address carries a
random token; only its hash is stored. After signing in again the same user gets the text back
in the form, unsaved, and only if they may still edit (or comment on) the submission. Files are
never kept. The same holds when the refused post also had a stale CSRF token: nothing is run.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, flash, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from mel_app.auth.sessions import expired_session_user
from mel_app.extensions import db
from mel_app.models import DraftStash, Submission, User, utcnow
from mel_app.permissions import can_comment_on_submission, can_edit_submission, can_view_submission

# The posts worth keeping: the organisation's form (save, save and submit) and a comment.
KEPT_ENDPOINTS = frozenset({"submissions.save", "submissions.comment"})
AUTOSAVE_ENDPOINT = "submissions.autosave"
# Fields never kept: the token (useless later) and the buttons (the user presses Save again).
_LEFT_OUT = frozenset({"save", "submit", "add_comment", "use_mine"})


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lifetime() -> timedelta:
    return timedelta(hours=current_app.config.get("DRAFT_STASH_HOURS", 2))


def purge_expired() -> int:
    """Delete the stashes past their time (cheap: one indexed delete, run whenever one is kept)."""
    return db.session.execute(sa.delete(DraftStash).where(DraftStash.expires_at <= utcnow())).rowcount


def keep(user: User, sub: Submission, fields: list[tuple[str, str]], *, had_files: bool) -> str:
    """Store the posted fields; returns the token that gives them back. Flushes."""
    purge_expired()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        DraftStash(
            token_hash=_hash(token),
            user_id=user.id,
            submission_id=sub.id,
            fields=[[name, value] for name, value in fields],
            had_files=had_files,
            created_at=now,
            expires_at=now + lifetime(),
        )
    )
    db.session.flush()
    return token


def find(token: str | None, user, sub: Submission) -> DraftStash | None:
    """The stash of `token`, if it is this user's, for this submission, and not expired."""
    if not token or len(token) > 100 or not getattr(user, "is_authenticated", False):
        return None
    stash = db.session.scalar(sa.select(DraftStash).where(DraftStash.token_hash == _hash(token)))
    if stash is None or stash.user_id != user.id or stash.submission_id != sub.id:
        return None
    if stash.expires_at <= utcnow():
        db.session.delete(stash)
        return None
    return stash


def restorable(stash: DraftStash, user, sub: Submission) -> tuple[MultiDict | None, MultiDict | None]:
    """(the edit form's data, the comment form's data) the user may still have back."""
    data = MultiDict([(name, value) for name, value in stash.fields])
    edit = data if can_edit_submission(user, sub) and "version" in data else None
    comment = None
    if (data.get("body") or "").strip() and can_comment_on_submission(user, sub):
        comment = data
    return edit, comment


def forget(user_id: int, sub_id: int) -> None:
    """The user saved: what was kept for them on this submission is no longer needed.

    Every save (and automatic save) also deletes whatever has expired: the periodic cleanup,
    one indexed delete, with no scheduler to run.
    """
    db.session.execute(
        sa.delete(DraftStash).where(
            sa.or_(
                sa.and_(DraftStash.user_id == user_id, DraftStash.submission_id == sub_id),
                DraftStash.expires_at <= utcnow(),
            )
        )
    )


def _posted_fields() -> list[tuple[str, str]]:
    token_field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    return [
        (name, value)
        for name, value in request.form.items(multi=True)
        if not name.endswith(token_field) and name not in _LEFT_OUT
    ]


def keep_expired_post():
    """For a POST refused because its sender is no longer signed in: keep it, or None.

    Called before the view runs (and in place of it): the response sends the user to the
    sign-in page, whose `next` address brings them back to the form with their text.
    """
    endpoint = request.endpoint or ""
    if request.method != "POST" or endpoint not in KEPT_ENDPOINTS | {AUTOSAVE_ENDPOINT}:
        return None
    user = expired_session_user(session.get("_user_id"))
    if user is None:
        return None  # nobody whose session timed out: the usual sign-in page
    if endpoint == AUTOSAVE_ENDPOINT:
        # The page's script keeps the text on the device and says what to do.
        return jsonify(
            ok=False,
            expired=True,
            message=_(
                "You were signed out after a time without activity. Your text is kept on this "
                "device: press “Save draft” and sign in again to save it."
            ),
        ), 401
    sub_id = (request.view_args or {}).get("sub_id")
    sub = db.session.get(Submission, sub_id) if sub_id is not None else None
    if sub is None or not can_view_submission(user, sub):
        return None
    fields = _posted_fields()
    if not fields:
        return None
    had_files = any(getattr(f, "filename", None) for f in request.files.values())
    token = keep(user, sub, fields, had_files=had_files)
    db.session.commit()
    message = _(
        "You were signed out after a time without activity. Your text has been kept: sign in "
        "again and it will be put back in the form."
    )
    if had_files:
        message += " " + _("Files are not kept: attach them again after signing in.")
    flash(message, "warning")
    back = url_for("submissions.detail", sub_id=sub.id, restore=token)
    return redirect(url_for("auth.login", next=back))
