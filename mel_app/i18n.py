"""Locale selection: the user's preferred language, else the browser's, else English."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_login import current_user


def select_locale() -> str:
    languages = list(current_app.config["LANGUAGES"])
    if not has_request_context():  # command line, emails sent outside a request
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.preferred_language in languages:
        return current_user.preferred_language
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return browser_language(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def browser_language(languages: list[str]) -> str | None:
    """The first language the browser asks for, by its quality, that the app speaks.

    A regional tag counts for its language, in the browser's order of preference: `pt-MZ` or
    `pt-PT` is Portuguese even when the browser also lists `en` with a lower quality (Werkzeug's
    `best_match` would prefer the exact `en` there), and `en-GB,pt;q=0.3` stays English.
    """
    accepted = sorted(request.accept_languages, key=lambda item: -item[1])  # stable: header order on ties
    for tag, quality in accepted:
        primary = tag.replace("_", "-").split("-")[0].lower()
        if quality > 0 and primary in languages:
            return primary
    return None
