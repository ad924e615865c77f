"""Jinja globals and filters shared by every template."""

from __future__ import annotations

from flask import Flask, g, has_request_context
from flask_babel import get_locale, get_translations
from flask_login import current_user

from mel_app import dates, enum_labels, permissions


def _translations():
    """Flask-Babel's catalogue of the current language, looked up once a request and language.

    Templates translate dozens of strings per page; Flask-Babel finds the language and its
    catalogue again for each. The catalogue is kept beside Flask-Babel's own record of the
    request's language, and used only while that language is the same object (force_locale(),
    which e-mails use, sets another one, so it is looked up again)."""
    babel_ctx = g.get("_flask_babel")
    locale = getattr(babel_ctx, "babel_locale", None)
    kept = getattr(babel_ctx, "mel_translations", None)
    if locale is not None and kept is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    babel_ctx = g.get("_flask_babel")
    if babel_ctx is not None:
        babel_ctx.mel_translations = (getattr(babel_ctx, "babel_locale", None), translations)
    return translations


def init_templating(app: Flask) -> None:
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    # The same callables Flask-Babel installs, reading the catalogue kept for the request.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )

    @app.context_processor
    def inject_globals():
        # The user object itself, not the request-local proxy: each rule reads several of its
        # attributes, and every read through the proxy looks the user up again.
        user = current_user._get_current_object() if has_request_context() else None
        return {
            "can": permissions.template_can(user),
            "languages": app.config["LANGUAGES"],
            "get_locale": get_locale,
            "time_zone_name": dates.select_timezone,
        }

    # Every enumeration member's words, from one place: {{ project.phase|label }}.
    app.jinja_env.filters["label"] = enum_labels.label
    # Dates and times, from one place (mel_app/dates.py): day month year, 24-hour clock, the
    # reader's time zone shown with every time.
    app.jinja_env.filters["date"] = dates.format_date
    app.jinja_env.filters["datetime"] = dates.format_datetime
    app.jinja_env.filters["time"] = dates.format_time
    app.jinja_env.filters["machine_time"] = dates.machine
