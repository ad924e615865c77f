"""One e-mail for one person: plain text and simple HTML, in their language, with one link.

Every message carries a one-click unsubscribe link (a signed token, no sign-in needed) in its
footer and in the List-Unsubscribe headers (RFC 2369, RFC 8058).
"""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from dataclasses import dataclass, field

from flask import current_app, has_request_context, render_template, request, url_for
from flask_babel import force_locale
from itsdangerous import BadSignature, URLSafeSerializer

from mel_app.extensions import db
from mel_app.models import NotificationKind, OutboxMessage, User
from mel_app.notifications import mark_outbox_added

_UNSUBSCRIBE_SALT = "mel-unsubscribe"


@dataclass
class Content:
    """What one person is told: a subject, a few short paragraphs, an optional quote, one link."""

    subject: str
    paragraphs: list[str]
    link_path: str
    action: str
    quote: str = ""
    items: list[tuple[str, str]] = field(default_factory=list)  # (text, path) for digests


def language_of(user: User) -> str:
    languages = current_app.config["LANGUAGES"]
    if user.preferred_language in languages:
        return user.preferred_language
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def base_url() -> str:
    """Where links in e-mails point: PUBLIC_BASE_URL, else the request's own address."""
    configured = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if configured:
        return configured
    if has_request_context():
        return request.host_url.rstrip("/")
    return "http://127.0.0.1:5000"


def outside_requests():
    """A request context where there is none (the worker, the command line), so that links and
    templates can be built; the current request's where there is one."""
    if has_request_context():
        return nullcontext()
    return current_app.test_request_context(base_url=base_url())


def path_for(endpoint: str, **values) -> str:
    """url_for that also works outside a request."""
    with outside_requests():
        return url_for(endpoint, **values)


def absolute(path: str) -> str:
    return base_url() + path


def unsubscribe_token(user: User, kind: NotificationKind | str) -> str:
    serializer = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_UNSUBSCRIBE_SALT)
    return serializer.dumps([user.id, str(kind)])


DIGEST = "digest"  # the daily digest's own "kind" in unsubscribe links and the outbox


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    """(user id, kind or DIGEST) from a link, or None when the link is not one of ours."""
    serializer = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_UNSUBSCRIBE_SALT)
    try:
        user_id, kind = serializer.loads(token)
        if kind != DIGEST:
            NotificationKind(kind)
        return int(user_id), str(kind)
    except (BadSignature, ValueError, TypeError):
        return None


def message_id(key: str) -> str:
    """The Message-ID of a message, derived from its idempotency key: a retry is the same message."""
    domain = current_app.config["MAIL_DEFAULT_SENDER"].rpartition("@")[2] or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def queue(user: User, kind: NotificationKind | str, key: str, content: Content) -> OutboxMessage | None:
    """Write the e-mail to the outbox in the current transaction (nothing if already queued)."""
    existing = db.session.scalar(db.select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key))
    if existing is not None:
        return None
    language = language_of(user)
    with outside_requests(), force_locale(language):
        unsubscribe = absolute(path_for("notifications.unsubscribe", token=unsubscribe_token(user, kind)))
        values = {
            "user": user,
            "content": content,
            "link": absolute(content.link_path),
            "items": [(text, absolute(path)) for text, path in content.items],
            "unsubscribe": unsubscribe,
            "preferences": absolute(path_for("notifications.preferences")),
        }
        text = render_template("email/notification.txt", **values)
        html = render_template("email/notification.html", **values)
    message = OutboxMessage(
        idempotency_key=key,
        recipient_id=user.id,
        kind=str(kind),
        to_address=user.email,
        language=language,
        subject=content.subject,
        text_body=text,
        html_body=html,
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    db.session.add(message)
    mark_outbox_added(db.session())
    return message
