"""An e-mail to one user, written in their language and their time zone.

Every e-mail the app sends goes through `render_for()`:

    from flask_babel import lazy_gettext as _l
    from mel_app.emails import render_for

    message = render_for(user, _l("Your report was returned"), "email/report_returned.txt",
                         submission=submission, link=external_url(...))
    mail.send(message)

The subject (a lazy string, or a function returning one) and the template are rendered inside
`recipient(user)`: `_()` in the template answers in the recipient's language and `|datetime`
shows times in the recipient's zone, whoever's request sends it. E-mail templates are plain text
(`templates/email/*.txt`, extracted for translation like the pages).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale

from mel_app import dates
from mel_app.mail import Message
from mel_app.models import User


def language_of(user: User, fallback: str | None = None) -> str:
    """The user's language if the app speaks it, else `fallback`, else the default."""
    languages = current_app.config["LANGUAGES"]
    for choice in (user.preferred_language, fallback):
        if choice in languages:
            return choice
    return current_app.config["BABEL_DEFAULT_LOCALE"]


@contextmanager
def recipient(user: User, *, fallback_language: str | None = None) -> Iterator[None]:
    """Inside the block, text and times are the recipient's: their language, their time zone."""
    with force_locale(language_of(user, fallback_language)), dates.for_zone(user.time_zone):
        yield


def render_for(
    user: User,
    subject: Any | Callable[[], Any],
    template: str,
    *,
    fallback_language: str | None = None,
    **context: Any,
) -> Message:
    """The message to `user`: `subject` and `template` rendered in their language and zone."""
    with recipient(user, fallback_language=fallback_language):
        text = subject() if callable(subject) else subject
        return Message(to=user.email, subject=str(text), body=render_template(template, user=user, **context))
